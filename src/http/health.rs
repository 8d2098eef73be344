//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::error::no_store;
use crate::reload::ReloadStatus;
use crate::state::LiveState;

/// 200 while the process serves.
pub(super) async fn healthz() -> HttpResponse {
    no_store(&mut HttpResponse::Ok()).json(json!({"status": "ok"}))
}

/// 200 only when every upstream has usable verification keys (our own keys are loaded before the
/// server starts at all); otherwise 503 saying which upstream is not ready and why. How the
/// reloads went is shown, and never makes the instance unready: a refused reload leaves the
/// previous config serving.
pub(super) async fn readyz(live: web::Data<LiveState>) -> HttpResponse {
    let state = live.current();
    let mut upstreams = Map::new();
    for status in state.pipeline.upstreams.statuses() {
        let mut entry = Map::new();
        entry.insert("ready".into(), Value::Bool(status.key_count > 0));
        entry.insert("keys".into(), status.key_count.into());
        if let Some(error) = status.last_error {
            entry.insert("last_error".into(), Value::String(error));
        }
        upstreams.insert(status.name, Value::Object(entry));
    }
    let is_ready = state.pipeline.upstreams.is_ready();
    let body = json!({
        "status": if is_ready { "ready" } else { "not_ready" },
        "upstreams": upstreams,
        "reload": reload_document(&live.reload_status()),
    });
    let mut response = if is_ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    no_store(&mut response).json(body)
}

/// The reload status as `/readyz` shows it: which config keys the last refused reload had
/// problems with, never the messages (they are in the log, and may name paths).
fn reload_document(status: &ReloadStatus) -> Value {
    let mut document = Map::new();
    document.insert(
        "status".into(),
        if status.last_failure.is_some() {
            "failed"
        } else {
            "ok"
        }
        .into(),
    );
    document.insert("generation".into(), status.generation.into());
    document.insert("failures".into(), status.failures.into());
    if let Some(at) = status.last_success_at {
        document.insert("last_success_at".into(), at.into());
    }
    if let Some(failure) = &status.last_failure {
        document.insert(
            "last_failure".into(),
            json!({"at": failure.at, "keys": failure.keys}),
        );
    }
    if !status.needs_restart.is_empty() {
        document.insert("needs_restart".into(), json!(status.needs_restart));
    }
    Value::Object(document)
}
