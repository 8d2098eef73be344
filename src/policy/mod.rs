//! Per-client policy as pure functions: which audience, which claims, how long.

pub mod audience;
pub mod claims;
pub mod lifetime;
pub mod presets;
pub mod rules;

#[cfg(test)]
mod property_tests;
