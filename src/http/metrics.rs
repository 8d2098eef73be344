//! `GET /metrics`: the Prometheus scrape, in OpenMetrics text when the scraper asks for it (as
//! Prometheus does), else in the Prometheus text format.

use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, web};

use super::error::no_store;
use crate::metrics::Exposition;
use crate::state::LiveState;

pub(super) async fn metrics(live: web::Data<LiveState>, request: HttpRequest) -> HttpResponse {
    let accept = request
        .headers()
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Exposition::negotiate(accept);
    let text = live.current().pipeline.metrics.render(&live, format);
    no_store(&mut HttpResponse::Ok())
        .content_type(format.content_type())
        .body(text)
}
