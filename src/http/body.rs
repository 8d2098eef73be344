//! The request body, bounded in size and in time before a handler holds it.

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, web};

use super::EdgeError;
use crate::capped::{CappedError, read_capped};
use crate::config::Limits;
use crate::exchange::RequestError;

/// Reads at most `limits.max_body_bytes`, all of it within `limits.body_read_timeout`. A larger
/// declared or actual body is refused before it is held; one that trickles in is cut off, since
/// actix times out only the request head and a client sending a byte now and then would
/// otherwise keep its connection, and the handler waiting on it, for as long as it likes.
pub(super) async fn read_body(
    request: &HttpRequest,
    payload: web::Payload,
    limits: &Limits,
) -> Result<Vec<u8>, EdgeError> {
    let limit = limits.max_body_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    tokio::time::timeout(
        limits.body_read_timeout,
        read_capped(declared, payload, limit),
    )
    .await
    .map_err(|_| EdgeError::BodyTimeout(limits.body_read_timeout))?
    .map_err(|err| match err {
        CappedError::TooLarge => EdgeError::BodyTooLarge(limit),
        CappedError::Stream(_) => RequestError::Malformed("request body").into(),
    })
}
