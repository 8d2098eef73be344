//! The integration tests' harness, one file per job; the tests reach all of it as `helpers::*`.

mod config;
mod keys;
mod logs;
mod service;
mod tokens;
mod tools;

pub use config::*;
pub use keys::*;
pub use logs::*;
pub use service::*;
pub use tokens::*;
pub use tools::*;
