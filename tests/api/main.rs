//! Integration tests: the real server on an ephemeral loopback port, a demo IdP on another.
// Tests abort on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attacks;
mod audience;
mod authorization;
mod body_timeout;
mod claims;
mod cli;
mod errors;
mod exchange;
mod exchange_cache;
mod front;
mod front_backchannel;
mod front_backchannel_refusals;
mod front_e2e;
mod front_logout;
mod front_relay;
mod front_session_e2e;
mod front_session_harness;
mod front_upstreams;
mod front_userinfo;
mod helpers;
mod idp_shapes;
mod internal_url;
mod interop;
mod jose_matrix;
mod jwe_hardening;
mod key_rotation;
mod keys;
mod keys_cli;
mod legacy_validators;
mod log_injection;
mod logs;
mod metrics;
mod mutations;
mod pipeline_properties;
mod proxy_protocol;
mod reload;
mod reload_live;
mod replicas;
mod request_id;
mod rotation_interop;
mod token_types;
mod traces;
mod upstream;
mod well_known;
