//! Per-client policy as pure functions: which audience, which claims, how long.

pub(crate) mod audience;
pub(crate) mod claims;
pub(crate) mod lifetime;
pub(crate) mod presets;
pub mod rules;

#[cfg(test)]
mod property_tests;
