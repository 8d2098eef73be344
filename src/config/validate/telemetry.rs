//! `[telemetry]`: the metrics listener's address, checked apart from the main one.

use std::net::SocketAddr;

use crate::config::TelemetryConfig;
use crate::config::error::Problems;
use crate::config::file::TelemetryFile;

pub(super) fn validate_telemetry(
    file: TelemetryFile,
    main_listen: SocketAddr,
    problems: &mut Problems,
) -> TelemetryConfig {
    let listen = file.listen.and_then(|text| match text.parse::<SocketAddr>() {
        Ok(addr) if addr == main_listen && addr.port() != 0 => {
            problems.add(
                "telemetry.listen",
                "must differ from listen (set telemetry.metrics_on_main_port = true to serve /metrics there)",
            );
            None
        }
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.add(
                "telemetry.listen",
                format!("{text:?} is not an address:port such as 0.0.0.0:9090"),
            );
            None
        }
    });
    TelemetryConfig {
        listen,
        is_metrics_on_main_port: file.metrics_on_main_port,
    }
}
