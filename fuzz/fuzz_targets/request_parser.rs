//! Any bytes as an `/exchange` request body, form and JSON: parameters parsed, then the RFC 8693
//! request checked. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbridge::exchange::{ExchangeRequest, RequestParams};

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = RequestParams::from_form(data) {
        let _ = ExchangeRequest::parse(&params, true);
    }
    if let Ok(params) = RequestParams::from_json(data) {
        let _ = ExchangeRequest::parse(&params, false);
    }
});
