//! tokenbridge: lets legacy OIDC relying parties accept tokens from modern identity providers.
//!
//! A client POSTs an IdP's token to `/exchange` (RFC 8693). tokenbridge decrypts it if it is a
//! JWE, verifies its signature against the IdP's JWKS, chooses exactly one audience by the
//! client's rules, carries the identity claims over, and signs a single-audience JWS with its own
//! key, which relying parties trust through `/.well-known/jwks.json`.
//!
//! - `http` is the actix-web edge; `exchange` is the use case, free of HTTP types.
//! - `clients` authenticates callers; `policy` holds pure per-client rules.
//! - `upstream` trusts IdPs by exact issuer and caches their keys; `jose` is all cryptography.
//! - `config` parses and checks the file; `keyring` loads our keys; `app` wires it all together.

pub mod app;
mod capped;
pub mod clients;
pub mod clock;
pub mod config;
pub mod demo;
pub mod exchange;
pub mod explain;
mod front;
mod http;
pub mod jose;
pub mod keyring;
pub mod oauth;
pub mod outbound;
pub mod policy;
pub mod state;
pub mod telemetry;
mod upstream;
