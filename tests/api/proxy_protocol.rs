//! `proxy_protocol = true`: each connection's PROXY header (v1 or v2) names the client, for the
//! failed-auth limit and the audit line, only when the peer sending it is a trusted proxy; a
//! connection without a header is closed unanswered. Written on raw sockets, as a balancer
//! speaking the protocol writes them.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tokenbridge::clock::SystemClock;

use crate::helpers::*;

fn proxied(trusted: &str) -> Options {
    Options {
        limits: format!(
            "proxy_protocol = true\n[limits]\nfailed_auth = {{ per_second = 0.01, burst = 2 }}\ntrusted_proxies = [{trusted}]\n"
        ),
        ..Options::default()
    }
}

fn v1(source: &str) -> Vec<u8> {
    format!("PROXY TCP4 {source} 127.0.0.1 40000 8080\r\n").into_bytes()
}

/// A v2 header: PROXY with an IPv4 source, or LOCAL (a balancer's health check).
fn v2(source: Option<[u8; 4]>) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    match source {
        Some(source) => {
            header.extend_from_slice(&[0x21, 0x11, 0, 12]);
            header.extend_from_slice(&source);
            header.extend_from_slice(&[127, 0, 0, 1, 0x9c, 0x40, 0x1f, 0x90]);
        }
        None => header.extend_from_slice(&[0x20, 0x00, 0, 0]),
    }
    header
}

/// Writes `header` and then one HTTP request (in the same segment, as HAProxy does) and reads
/// the answer's status; `None` when the connection closed without one.
async fn status_after(app: &TestApp, header: &[u8], request: &str) -> Option<u16> {
    let port = app
        .url("")
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(request.as_bytes());
    stream.write_all(&bytes).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
    let _ = read.await.expect("the server answered or closed in time");
    let answer = String::from_utf8_lossy(&answer);
    answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn wrong_guess(app: &TestApp) -> String {
    let token = app.id_token(serde_json::json!("app"), serde_json::json!({}));
    let body = format!("grant_type={GRANT}&subject_token={token}&subject_token_type={ID_TOKEN}");
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "app:wrong-guess-0123456789",
    );
    format!(
        "POST /exchange HTTP/1.1\r\nhost: tokenbridge\r\nauthorization: Basic {basic}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nhost: tokenbridge\r\nconnection: close\r\n\r\n";

#[tokio::test]
async fn from_a_trusted_proxy_the_proxy_header_names_the_client_the_limit_counts() {
    let app = spawn_app_with(proxied("\"127.0.0.0/8\"")).await;
    let guess = wrong_guess(&app);

    let mut statuses = Vec::new();
    for header in [
        v1("198.51.100.1"),
        v2(Some([198, 51, 100, 1])),
        v1("198.51.100.1"),
        v2(Some([198, 51, 100, 2])),
    ] {
        statuses.push(status_after(&app, &header, &guess).await);
    }

    assert_eq!(
        statuses,
        [Some(401), Some(401), Some(429), Some(401)],
        "v1 and v2 name the same client; another client has its own limit"
    );
    assert!(
        captured_logs()
            .lines()
            .any(|line| line.contains("tokenbridge::audit")
                && line.contains("source=\"198.51.100.2\"")),
        "the audit line names the client behind the proxy"
    );
    assert_eq!(
        status_after(&app, &v2(None), HEALTHZ).await,
        Some(200),
        "a balancer's LOCAL health check is served"
    );
}

#[tokio::test]
async fn from_an_untrusted_peer_the_proxy_header_is_read_and_ignored() {
    let app = spawn_app_with(proxied("\"10.0.0.0/8\"")).await;
    let guess = wrong_guess(&app);

    let mut statuses = Vec::new();
    for source in ["203.0.113.21", "203.0.113.22", "203.0.113.23"] {
        statuses.push(status_after(&app, &v1(source), &guess).await);
    }

    assert_eq!(
        statuses,
        [Some(401), Some(401), Some(429)],
        "the peer is counted, whatever its header names"
    );
    assert!(
        !captured_logs().contains("source=\"203.0.113.2"),
        "an untrusted PROXY header never reaches the audit line"
    );
}

#[tokio::test]
async fn a_connection_without_a_valid_proxy_header_is_closed_unanswered() {
    let app = spawn_app_with(proxied("\"127.0.0.0/8\"")).await;

    let plain = status_after(&app, b"", HEALTHZ).await;
    let garbled = status_after(
        &app,
        b"PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n",
        HEALTHZ,
    )
    .await;
    let mut too_long = v2(None);
    too_long.truncate(14);
    too_long.extend_from_slice(&2000u16.to_be_bytes());
    too_long.extend_from_slice(&[0; 2000]);
    let too_long = status_after(&app, &too_long, HEALTHZ).await;
    let clock = SystemClock::shared();
    let stalled_at = clock.monotonic();
    let stalled = status_after(&app, b"PROXY TCP4 198.51", "").await;

    assert_eq!(
        (plain, garbled, too_long, stalled),
        (None, None, None, None)
    );
    let waited = clock.monotonic() - stalled_at;
    assert!(
        waited >= Duration::from_secs(4),
        "a partial header is waited for (5 s), not refused at once: {waited:?}"
    );
    assert!(
        [
            "the connection does not start with a PROXY header",
            "the PROXY header is longer than 1024 bytes",
            "no PROXY header within 5s"
        ]
        .iter()
        .all(|reason| captured_logs().contains(&format!("connection closed: {reason}"))),
        "the log says why"
    );
    assert_eq!(
        status_after(&app, &v1("198.51.100.9"), HEALTHZ).await,
        Some(200)
    );
}

#[test]
fn proxy_protocol_without_trusted_proxies_is_a_config_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "issuer = \"https://tokenbridge.example.com\"\nproxy_protocol = true\n{}",
        default_policy().replace("{idp}", "https://idp.example.com")
    );

    let refused = tokenbridge::config::parse(&text, dir.path())
        .expect_err("refused")
        .to_string();

    assert!(
        refused.contains("proxy_protocol: is true, but limits.trusted_proxies is empty"),
        "{refused}"
    );
}
