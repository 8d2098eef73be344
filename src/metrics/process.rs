//! The process's own metrics, with the names every Prometheus client library uses: CPU time,
//! memory, open files, start time. Read from /proc at each scrape (Linux); where /proc can't be
//! read, the metric is left out rather than reported wrong.

use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::clock::UnixTime;

/// Clock ticks per second of /proc/self/stat's times: `USER_HZ`, 100 on every Linux
/// architecture (the kernel scales to it whatever its internal tick).
const USER_HZ: f64 = 100.0;
/// The page size /proc/self/statm counts in, on the architectures tokenbridge is built for.
const PAGE_BYTES: i64 = 4096;

pub(super) fn registry(started_at: UnixTime) -> Registry {
    let mut registry = Registry::with_prefix("process");
    let start = Gauge::<i64, AtomicI64>::default();
    start.set(started_at);
    registry.register(
        "start_time_seconds",
        "Start time of the process since the Unix epoch",
        start,
    );
    if let Some(seconds) = cpu_seconds() {
        let cpu = Counter::<f64, AtomicU64>::default();
        cpu.inc_by(seconds);
        registry.register(
            "cpu_seconds",
            "Total user and system CPU time spent in seconds",
            cpu,
        );
    }
    if let Some((virtual_pages, resident_pages)) = memory_pages() {
        let resident = Gauge::<i64, AtomicI64>::default();
        resident.set(resident_pages.saturating_mul(PAGE_BYTES));
        registry.register(
            "resident_memory_bytes",
            "Resident memory size in bytes",
            resident,
        );
        let size = Gauge::<i64, AtomicI64>::default();
        size.set(virtual_pages.saturating_mul(PAGE_BYTES));
        registry.register("virtual_memory_bytes", "Virtual memory size in bytes", size);
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        let open = Gauge::<i64, AtomicI64>::default();
        open.set(i64::try_from(entries.count()).unwrap_or(i64::MAX));
        registry.register("open_fds", "Number of open file descriptors", open);
    }
    if let Some(limit) = max_fds() {
        let max = Gauge::<i64, AtomicI64>::default();
        max.set(limit);
        registry.register("max_fds", "Maximum number of open file descriptors", max);
    }
    registry
}

/// utime + stime from /proc/self/stat (fields 14 and 15, counted after the `(comm)` field,
/// which may itself hold spaces and parentheses).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / USER_HZ)
}

/// (size, resident) in pages, from /proc/self/statm.
fn memory_pages() -> Option<(i64, i64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = statm.split_whitespace();
    let size = fields.next()?.parse().ok()?;
    let resident = fields.next()?.parse().ok()?;
    Some((size, resident))
}

/// The soft limit on open files, from /proc/self/limits.
fn max_fds() -> Option<i64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
