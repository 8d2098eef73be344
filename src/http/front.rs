//! The OIDC front's routes: `{issuer}/front/{client}/…`. Thin: find the front, read the bounded
//! body, hand over to `front`, render its outcome.

use std::sync::Arc;

use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderName, LOCATION, WWW_AUTHENTICATE,
};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};

use super::body::read_body;
use super::client_address::client_address;
use super::credentials::single_authorization;
use super::current::CurrentState;
use super::error::{EdgeError, no_store, render_error};
use crate::config::FrontMode;
use crate::front::{self, Front, FrontOutcome, FrontRefusal, RelyingPartyRequest};
use crate::state::AppState;

/// The front for `client`. A missing one is a refusal like any other: never cached, so a front
/// configured later is not hidden behind a stored 404.
fn find(state: &AppState, client: &str) -> Result<Arc<Front>, EdgeError> {
    let front = state
        .fronts
        .get(client)
        .cloned()
        .ok_or(EdgeError::NoSuchFront)?;
    // Found, so `client` is a configured id, not merely the path's.
    super::request_id::record_client(client);
    Ok(front)
}

fn header(request: &HttpRequest, name: HeaderName) -> Option<&str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// The relying party's `Authorization`, to forward to the IdP; two are refused before anything
/// is forwarded (the IdP would see only one of them).
fn forwarded_authorization(request: &HttpRequest) -> Result<Option<&str>, EdgeError> {
    Ok(single_authorization(request)?.and_then(|value| value.to_str().ok()))
}

fn render(outcome: FrontOutcome) -> HttpResponse {
    match outcome {
        FrontOutcome::PassedOn(forwarded) => {
            let status = StatusCode::from_u16(forwarded.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = HttpResponse::build(status);
            no_store(&mut response);
            if let Some(challenge) = forwarded.www_authenticate {
                response.insert_header((WWW_AUTHENTICATE, challenge));
            }
            response
                .content_type(
                    forwarded
                        .content_type
                        .unwrap_or_else(|| "application/json".into()),
                )
                .body(forwarded.body)
        }
        FrontOutcome::Json(object) => no_store(&mut HttpResponse::Ok()).json(object),
        FrontOutcome::SignedUserinfo(jwt) => no_store(&mut HttpResponse::Ok())
            .content_type("application/jwt")
            .body(jwt),
        // RFC 9110 §15.4.4: 303, so the browser follows with a GET whatever it sent.
        FrontOutcome::Redirect(url) => no_store(&mut HttpResponse::SeeOther())
            .insert_header((LOCATION, url.as_str()))
            .finish(),
        FrontOutcome::Refused(refusal) => render_error(&EdgeError::Front(refusal)),
        FrontOutcome::LoggedOut => no_store(&mut HttpResponse::Ok()).finish(),
    }
}

/// A handler's answer: its outcome rendered, or its refusal through the one error renderer;
/// counted for `endpoint` of the front named `client` (labelled by name only when that front
/// exists: the path is the caller's).
fn respond(
    state: &AppState,
    client: &str,
    endpoint: &'static str,
    outcome: Result<FrontOutcome, EdgeError>,
) -> HttpResponse {
    let label = match &outcome {
        Ok(FrontOutcome::Refused(
            FrontRefusal::IdpUnavailable | FrontRefusal::IdpKeysUnavailable,
        )) => "upstream_error",
        Ok(FrontOutcome::Refused(_)) | Err(_) => "refused",
        Ok(_) => "ok",
    };
    let front = if state.fronts.get(client).is_some() {
        client
    } else {
        ""
    };
    state.pipeline.metrics.front_request(front, endpoint, label);
    match outcome {
        Ok(outcome) => render(outcome),
        Err(err) => render_error(&err),
    }
}

/// The relay's endpoints exist only on a front in `mode = "relay"`.
fn find_relaying(state: &AppState, client: &str) -> Result<Arc<Front>, EdgeError> {
    let front = find(state, client)?;
    if front.config.mode == FrontMode::Relay {
        Ok(front)
    } else {
        Err(EdgeError::Front(FrontRefusal::NotRelaying))
    }
}

pub(super) async fn authorize(
    state: CurrentState,
    client: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    let outcome = match find_relaying(&state, &client) {
        Ok(front) => {
            Ok(front::authorize(&front, request.query_string(), state.pipeline.clock.now()).await)
        }
        Err(err) => Err(err),
    };
    respond(&state, &client, "authorize", outcome)
}

pub(super) async fn callback(
    state: CurrentState,
    client: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    let outcome = find_relaying(&state, &client)
        .map(|front| front::callback(&front, request.query_string(), state.pipeline.clock.now()));
    respond(&state, &client, "callback", outcome)
}

pub(super) async fn discovery(state: CurrentState, client: web::Path<String>) -> HttpResponse {
    let front = match find(&state, &client) {
        Ok(front) => front,
        Err(err) => return respond(&state, &client, "discovery", Err(err)),
    };
    match front::front_discovery(&front, &state.pipeline.issuer).await {
        Ok(document) => {
            state
                .pipeline
                .metrics
                .front_request(&front.config.client, "discovery", "ok");
            HttpResponse::Ok()
                .insert_header((
                    CACHE_CONTROL,
                    format!(
                        "public, max-age={}",
                        state.pipeline.limits.jwks_max_age.as_secs()
                    ),
                ))
                .json(document)
        }
        Err(err) => {
            let refusal = front.unavailable(&err);
            respond(
                &state,
                &client,
                "discovery",
                Ok(FrontOutcome::Refused(refusal)),
            )
        }
    }
}

pub(super) async fn token(
    state: CurrentState,
    client: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let outcome = token_outcome(&state, &client, &request, payload).await;
    respond(&state, &client, "token", outcome)
}

/// What both front endpoints read before anything is forwarded: the front, the relying
/// party's one `Authorization` (two are refused), and the bounded body.
async fn read_front_request<'r>(
    state: &AppState,
    client: &str,
    request: &'r HttpRequest,
    payload: web::Payload,
) -> Result<(Arc<Front>, Option<&'r str>, Vec<u8>), EdgeError> {
    let front = find(state, client)?;
    let authorization = forwarded_authorization(request)?;
    let body = read_body(request, payload, &state.pipeline.limits).await?;
    Ok((front, authorization, body))
}

async fn token_outcome(
    state: &AppState,
    client: &str,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<FrontOutcome, EdgeError> {
    let (front, authorization, body) = read_front_request(state, client, request, payload).await?;
    Ok(front::token(
        &state.pipeline,
        &state.forwarder,
        &front,
        body,
        authorization,
        client_address(request, &state.trusted_proxies),
    )
    .await)
}

pub(super) async fn userinfo(
    state: CurrentState,
    client: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let outcome = userinfo_outcome(&state, &client, &request, payload).await;
    respond(&state, &client, "userinfo", outcome)
}

async fn userinfo_outcome(
    state: &AppState,
    client: &str,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<FrontOutcome, EdgeError> {
    let (front, authorization, body) = read_front_request(state, client, request, payload).await?;
    let relying_party_request = RelyingPartyRequest {
        is_post: request.method() == Method::POST,
        body,
        content_type: header(request, CONTENT_TYPE),
        authorization,
    };
    Ok(front::userinfo(
        &state.pipeline,
        &state.forwarder,
        &front,
        relying_party_request,
    )
    .await)
}

/// `GET|POST {front}/logout`: the parameters from the query string, or from a POST's form body.
pub(super) async fn logout(
    state: CurrentState,
    client: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let outcome = logout_outcome(&state, &client, &request, payload).await;
    respond(&state, &client, "logout", outcome)
}

async fn logout_outcome(
    state: &AppState,
    client: &str,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<FrontOutcome, EdgeError> {
    let front = find(state, client)?;
    let parameters = if request.method() == Method::POST {
        require_form(request)?;
        read_body(request, payload, &state.pipeline.limits).await?
    } else {
        request.query_string().as_bytes().to_vec()
    };
    Ok(front::logout(&state.pipeline, &front, &parameters).await)
}

/// `GET {front}/logout/callback`: back from the IdP's logout.
pub(super) async fn logout_callback(
    state: CurrentState,
    client: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    let outcome = find(&state, &client).map(|front| {
        front::logout_callback(&state.pipeline, &front, request.query_string().as_bytes())
    });
    respond(&state, &client, "logout_callback", outcome)
}

/// `POST {front}/backchannel-logout`: the IdP's form with one `logout_token` (Back-Channel
/// Logout §2.5), bounded like every body.
pub(super) async fn backchannel_logout(
    state: CurrentState,
    client: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let outcome = backchannel_logout_outcome(&state, &client, &request, payload).await;
    respond(&state, &client, "backchannel", outcome)
}

async fn backchannel_logout_outcome(
    state: &AppState,
    client: &str,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<FrontOutcome, EdgeError> {
    let front = find(state, client)?;
    require_form(request)?;
    let body = read_body(request, payload, &state.pipeline.limits).await?;
    Ok(front::backchannel_logout(&state.pipeline, &state.forwarder, &front, &body).await)
}

/// A body the front reads as a form must say so (`application/x-www-form-urlencoded`).
fn require_form(request: &HttpRequest) -> Result<(), EdgeError> {
    let media_type = header(request, CONTENT_TYPE)
        .and_then(|content_type| content_type.split(';').next())
        .unwrap_or("")
        .trim();
    if media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(EdgeError::UnsupportedMediaType)
    }
}
