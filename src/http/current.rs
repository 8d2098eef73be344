//! The `CurrentState` extractor: the state a request is served from, taken once when the request
//! starts, so a reload swapping in a new one never changes it halfway through.

use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::state::{AppState, LiveState};

/// The state current when the request started.
pub(crate) struct CurrentState(Arc<AppState>);

impl CurrentState {
    pub(crate) fn into_inner(self) -> Arc<AppState> {
        self.0
    }
}

impl Deref for CurrentState {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl FromRequest for CurrentState {
    type Error = actix_web::Error;
    type Future = Ready<Result<CurrentState, actix_web::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        // `app` registers the live state on every worker before it serves anything.
        ready(match request.app_data::<web::Data<LiveState>>() {
            Some(live) => Ok(CurrentState(live.current())),
            None => Err(actix_web::error::ErrorInternalServerError(
                "tokenbridge has no state",
            )),
        })
    }
}
