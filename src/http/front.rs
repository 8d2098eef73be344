//! The OIDC front's routes: `{issuer}/front/{client}/…`. Thin: find the front, read the bounded
//! body, hand over to `front`, render its answer.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};

use super::body::read_body;
use super::credentials::single_authorization;
use super::error::render_error;
use crate::exchange::ExchangeError;
use crate::front::{self, Front, FrontAnswer, RelyingPartyRequest};
use crate::state::AppState;

/// The front for `client`, or None: the handlers answer 404.
fn find(state: &AppState, client: &str) -> Option<std::sync::Arc<Front>> {
    state.fronts.get(client).cloned()
}

/// Never cached: a front configured later must not be hidden behind a stored 404 (the README
/// promises `no-store` for the token and userinfo endpoints).
fn no_such_front() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .content_type("application/json")
        .body(r#"{"error":"invalid_request","error_description":"no such front"}"#)
}

fn header(request: &HttpRequest, name: actix_web::http::header::HeaderName) -> Option<&str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// The relying party's `Authorization`, to forward to the IdP; two are refused before anything
/// is forwarded (the IdP would see only one of them).
fn forwarded_authorization(request: &HttpRequest) -> Result<Option<&str>, ExchangeError> {
    Ok(single_authorization(request)?.and_then(|value| value.to_str().ok()))
}

fn render(answer: FrontAnswer) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(answer.status)
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    response
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"));
    if let Some(challenge) = answer.www_authenticate {
        response.insert_header((actix_web::http::header::WWW_AUTHENTICATE, challenge));
    }
    response.content_type(answer.content_type).body(answer.body)
}

pub async fn discovery(state: web::Data<AppState>, client: web::Path<String>) -> HttpResponse {
    let Some(front) = find(&state, &client) else {
        return no_such_front();
    };
    match front::front_discovery(&front, &state.issuer).await {
        Ok(document) => HttpResponse::Ok()
            .insert_header((
                CACHE_CONTROL,
                format!("public, max-age={}", state.limits.jwks_max_age.as_secs()),
            ))
            .json(document),
        Err(err) => render(FrontAnswer::unavailable(&front, &err)),
    }
}

pub async fn token(
    state: web::Data<AppState>,
    client: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let Some(front) = find(&state, &client) else {
        return no_such_front();
    };
    let authorization = match forwarded_authorization(&request) {
        Ok(authorization) => authorization,
        Err(err) => return render_error(&err),
    };
    let body = match read_body(&request, payload, &state.limits).await {
        Ok(body) => body,
        Err(err) => return render_error(&err),
    };
    let state = state.into_inner();
    render(front::token(&state, &front, body, authorization).await)
}

pub async fn userinfo(
    state: web::Data<AppState>,
    client: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let Some(front) = find(&state, &client) else {
        return no_such_front();
    };
    let authorization = match forwarded_authorization(&request) {
        Ok(authorization) => authorization,
        Err(err) => return render_error(&err),
    };
    let body = match read_body(&request, payload, &state.limits).await {
        Ok(body) => body,
        Err(err) => return render_error(&err),
    };
    let state = state.into_inner();
    let request = RelyingPartyRequest {
        is_post: request.method() == actix_web::http::Method::POST,
        body,
        content_type: header(&request, CONTENT_TYPE),
        authorization,
    };
    render(front::userinfo(&state, &front, request).await)
}
