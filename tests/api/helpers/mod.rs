//! The integration tests' harness, one file per job; the tests reach all of it as `helpers::*`.

mod config;
mod keys;
mod logs;
mod receiver;
mod service;
mod tokens;
mod tools;

pub(crate) use config::*;
pub(crate) use keys::*;
pub(crate) use logs::*;
pub(crate) use receiver::*;
pub(crate) use service::*;
pub(crate) use tokens::*;
pub(crate) use tools::*;
