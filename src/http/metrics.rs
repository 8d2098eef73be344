//! `GET /metrics`: the Prometheus scrape, in the OpenMetrics text format.

use actix_web::{HttpResponse, web};

use super::error::no_store;
use crate::state::LiveState;

/// The media type the text encoder writes (OpenMetrics 1.0), which Prometheus asks for.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(super) async fn metrics(live: web::Data<LiveState>) -> HttpResponse {
    let text = live.current().pipeline.metrics.render(&live);
    no_store(&mut HttpResponse::Ok())
        .content_type(OPENMETRICS)
        .body(text)
}
