//! tokenbridge: lets legacy OIDC relying parties accept tokens from modern identity providers.
//!
//! A client POSTs an IdP's token to `/exchange` (RFC 8693). tokenbridge decrypts it if it is a
//! JWE, verifies its signature against the IdP's JWKS, chooses exactly one audience by the
//! client's rules, carries the identity claims over, and signs a single-audience JWS with its own
//! key, which relying parties trust through `/.well-known/jwks.json`.
//!
//! - `http` is the actix-web edge: routes, bounded bodies, and the one renderer of every answer.
//! - `exchange` is the use case, run on an `exchange::Pipeline` (issuer, key ring, upstreams,
//!   clock, limits). It knows nothing of HTTP, the fronts or the app state; nothing below it
//!   (`policy`, `upstream`, `jose`) does either.
//! - `front` serves relying parties that run a code flow themselves: it forwards their grants to
//!   the IdP and passes the tokens through the pipeline, returning outcomes `http` renders.
//! - `clients` authenticates callers; `policy` holds pure per-client rules.
//! - `upstream` trusts IdPs by exact issuer and caches their discovery and keys; `jose` is all
//!   cryptography, free of I/O; `outbound` is the one way out to an IdP.
//! - `config` parses and checks the file; `keyring` loads our keys; `state` is what a request
//!   sees; `app` wires it all together; `clock` is the only time source.
//!
//! The modules that are `pub` are what the binary, the tests, the benchmarks and the fuzz targets
//! use; the rest is private to the crate.

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
pub mod metrics;
pub mod oauth;
pub mod outbound;
pub mod policy;
pub mod reload;
pub mod state;
pub mod telemetry;
mod upstream;
