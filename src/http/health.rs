//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::error::no_store;
use crate::state::AppState;

/// 200 while the process serves.
pub(super) async fn healthz() -> HttpResponse {
    no_store(&mut HttpResponse::Ok()).json(json!({"status": "ok"}))
}

/// 200 only when every upstream has usable verification keys (our own keys are loaded before the
/// server starts at all); otherwise 503 saying which upstream is not ready and why.
pub(super) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
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
    let body =
        json!({"status": if is_ready { "ready" } else { "not_ready" }, "upstreams": upstreams});
    let mut response = if is_ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    no_store(&mut response).json(body)
}
