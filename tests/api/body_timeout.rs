//! A body that trickles in is cut off after `limits.body_read_timeout` on every endpoint that
//! reads one: 408 with the RFC error body, and the connection closed.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// The app's limit in these tests; the client sends a byte this often, so the body is never
/// idle long and still never complete.
const TIMEOUT: &str = "1s";
const TRICKLE_EVERY: Duration = Duration::from_millis(200);

async fn app_with_a_front() -> TestApp {
    spawn_app_with(Options {
        limits: format!("[limits]\nbody_read_timeout = \"{TIMEOUT}\"\n"),
        policy: format!(
            "{}\n[[front]]\nclient = \"app\"\nupstream = \"idp\"\n",
            default_policy()
        ),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_408_and_the_connection_closed_on_every_endpoint() {
    let app = app_with_a_front().await;
    let address = app.base.trim_start_matches("http://").to_owned();

    let endpoints = [
        ("POST", "/exchange"),
        ("POST", "/front/app/token"),
        ("POST", "/front/app/userinfo"),
        ("GET", "/front/app/userinfo"),
    ];
    // All at once, and the whole test bounded: without the limit, no answer ever comes.
    let answers = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::future::join_all(
            endpoints
                .iter()
                .map(|(method, path)| trickle(&address, method, path)),
        ),
    )
    .await
    .expect("every trickling request was answered and closed within 10 s");

    for ((method, path), answer) in endpoints.iter().zip(answers) {
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let head = head.to_ascii_lowercase();
        assert!(
            head.starts_with("http/1.1 408"),
            "{method} {path}: {answer}"
        );
        assert!(
            head.contains("connection: close"),
            "{method} {path}: {answer}"
        );
        assert!(
            head.contains("cache-control: no-store"),
            "{method} {path}: {answer}"
        );
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{answer}"));
        assert_eq!(
            body,
            json!({"error": "invalid_request", "error_description": "the request body did not arrive in time"}),
            "{method} {path}"
        );
    }
    assert!(
        captured_logs().contains("limits.body_read_timeout"),
        "the audit line says why"
    );
}

#[tokio::test]
async fn a_body_sent_in_pieces_within_the_limit_is_still_read_whole() {
    let app = app_with_a_front().await;
    let token = app.id_token(json!("app"), json!({}));
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", GRANT)
        .append_pair("subject_token", &token)
        .append_pair("subject_token_type", ID_TOKEN)
        .finish();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("app:{}", secret_of("app")),
    );
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "POST /exchange HTTP/1.1\r\nhost: tokenbridge\r\nauthorization: Basic {basic}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    for piece in [first, rest] {
        stream.write_all(piece.as_bytes()).await.unwrap();
        tokio::time::sleep(TRICKLE_EVERY).await;
    }
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.exchange("app", &token, &[]).await.token();
}

/// Sends `method path` with a declared body of 100 bytes, then one byte every `TRICKLE_EVERY`
/// (never all of them); returns everything the server sent until it closed the connection.
async fn trickle(address: &str, method: &str, path: &str) -> String {
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(
            format!(
                "{method} {path} HTTP/1.1\r\nhost: tokenbridge\r\nauthorization: Bearer opaque\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ngrant_type="
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let trickling = tokio::spawn(async move {
        // 50 bytes at most: the declared 100 never arrive. A write fails once the server closed.
        for _ in 0..50 {
            tokio::time::sleep(TRICKLE_EVERY).await;
            if writer.write_all(b"x").await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    // Until the server closes (0) or resets after closing (an error once the answer is in).
    while let Ok(read) = reader.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
    }
    trickling.abort();
    String::from_utf8_lossy(&answer).into_owned()
}
