//! OTLP traces from the running binary, received by a small OTLP/HTTP receiver here: a span per
//! request under the caller's `traceparent`, the pipeline's steps inside it, the trace context
//! sent on to the IdP, and nothing secret in anything exported.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::jose::alg::JwsAlg;

use crate::cli::start_serve_logged_with;
use crate::helpers::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// Every export body received, as sent.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Vec<u8>>>>);

async fn receive(received: web::Data<Received>, body: web::Bytes) -> HttpResponse {
    received.0.lock().unwrap().push(body.to_vec());
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

fn spans(received: &Received) -> Vec<Span> {
    received
        .0
        .lock()
        .unwrap()
        .iter()
        .flat_map(|body| {
            ExportTraceServiceRequest::decode(body.as_slice())
                .unwrap()
                .resource_spans
        })
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every text a span carries: its name, attribute keys and values, events, links.
fn texts(span: &Span) -> Vec<String> {
    let mut texts = vec![span.name.clone()];
    let values = span
        .attributes
        .iter()
        .chain(span.events.iter().flat_map(|event| &event.attributes))
        .chain(span.links.iter().flat_map(|link| &link.attributes));
    for attribute in values {
        texts.push(attribute.key.clone());
        if let Some(AnyValue::StringValue(text)) = attribute
            .value
            .as_ref()
            .and_then(|value| value.value.as_ref())
        {
            texts.push(text.clone());
        }
    }
    texts.extend(span.events.iter().map(|event| event.name.clone()));
    texts
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            AnyValue::StringValue(text) => text.clone(),
            AnyValue::IntValue(number) => number.to_string(),
            other => format!("{other:?}"),
        })
}

// Multi-threaded: the receiver and the demo IdP serve while the test waits on the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_exported_as_a_span_under_the_callers_trace_with_nothing_secret() {
    let received = Received::default();
    let receiver_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_port = receiver_listener.local_addr().unwrap().port();
    let receiver = HttpServer::new({
        let received = received.clone();
        move || {
            App::new()
                .app_data(web::Data::new(received.clone()))
                .route("/v1/traces", web::post().to(receive))
        }
    })
    .workers(1)
    .listen(receiver_listener)
    .unwrap()
    .run();
    let receiver_handle = receiver.handle();
    tokio::spawn(receiver);

    let idp = DemoIdp::start(&[&idp_key(JwsAlg::RS256)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "issuer = \"https://tokenbridge.example.com\"\nlisten = \"127.0.0.1:0\"\n\n[keys]\ndir = \"./keys\"\n\n[[upstream]]\nname = \"idp\"\nissuer = \"{}\"\ndanger_allow_http = true\nrefetch_cooldown = \"0s\"\n\n[[client]]\nid = \"app\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\n",
        idp.issuer(),
        digest("app")
    );
    let endpoint = format!("http://127.0.0.1:{receiver_port}");
    let mut serving = start_serve_logged_with(
        dir.path(),
        &config,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    // The IdP rotates: this exchange's unknown kid makes tokenbridge refetch inside the request.
    let rotated = rotated_idp_key();
    idp.publish(&[&rotated]);
    let now = now();
    let token = rotated
        .sign(
            &json!({"iss": idp.issuer(), "sub": "user-secret-sub", "aud": "app", "iat": now, "exp": now + 600}),
            &json!({}),
        )
        .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = http
        .post(format!("http://127.0.0.1:{}/exchange", serving.port))
        .basic_auth("app", Some(secret_of("app")))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .form(&[
            ("grant_type", GRANT),
            ("subject_token", token.as_str()),
            ("subject_token_type", ID_TOKEN),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let issued: serde_json::Value = answer.json().await.unwrap();
    let issued = issued["access_token"].as_str().unwrap().to_owned();

    // A graceful stop flushes what is buffered.
    std::process::Command::new("kill")
        .args(["-TERM", &serving.child.id().to_string()])
        .status()
        .unwrap();
    let stopped = serving.child.wait().unwrap();
    receiver_handle.stop(true).await;
    assert!(stopped.success());

    let spans = spans(&received);
    let ours: Vec<&Span> = spans
        .iter()
        .filter(|span| hex(&span.trace_id) == TRACE_ID)
        .collect();
    let server = ours
        .iter()
        .find(|span| hex(&span.parent_span_id) == PARENT_ID)
        .unwrap_or_else(|| panic!("no span under the caller's parent: {spans:#?}"));
    assert_eq!(
        attribute(server, "http.route").as_deref(),
        Some("/exchange")
    );
    assert_eq!(
        attribute(server, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attribute(server, "http.request.method").as_deref(),
        Some("POST")
    );
    for step in ["verify", "sign"] {
        assert!(
            ours.iter().any(|span| span.name == step),
            "the {step} step is a span of the trace: {ours:#?}"
        );
    }
    let sent_on = idp.jwks_traceparents();
    assert!(
        sent_on
            .iter()
            .any(|traceparent| traceparent.starts_with(&format!("00-{TRACE_ID}-"))),
        "the IdP got the trace context on the refetch: {sent_on:?}"
    );

    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("app:{}", secret_of("app")),
    );
    let mut secrets = vec![
        token.clone(),
        issued.clone(),
        secret_of("app"),
        basic,
        "Basic ".to_owned(),
        "user-secret-sub".to_owned(),
    ];
    secrets.extend(token.split('.').map(str::to_owned));
    secrets.extend(issued.split('.').map(str::to_owned));
    for span in &spans {
        for text in texts(span) {
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "span {:?} carries a secret: {text:?}",
                    span.name
                );
            }
        }
    }
    assert!(ours.len() >= 3, "the request and its steps: {ours:#?}");
}
