//! Whether a refused JWE's decryption time tells what was wrong with it: the kinds of tampering
//! run interleaved in a shuffled order, one timed call at a time, so drift of the machine falls
//! on every kind alike; then each kind is compared with the first by Welch's t-test, as dudect
//! does ("dude, is my code constant time?", Reparaz, Balasch, Verbauwhede, 2017): |t| above 4.5
//! is a timing difference an attacker could measure.

// A timing report: it reads the wall clock around each call and prints its table, by design.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// Fewer than this many samples per kind and the comparison says nothing.
const MIN_SAMPLES: usize = 1_000;
/// dudect's threshold.
const T_LIMIT: f64 = 4.5;

pub(crate) struct Case {
    pub name: &'static str,
    pub token: String,
}

/// Runs `refuse` on each case, interleaved, under criterion's clock, then prints per kind: samples,
/// median, mean, and Welch's t against the first case.
pub(crate) fn compare(c: &mut Criterion, group_name: &str, cases: &[Case], refuse: impl Fn(&str)) {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut order: Vec<usize> = (0..cases.len()).collect();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(12));
    group.bench_function("interleaved", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations.div_ceil(cases.len() as u64) {
                shuffle(&mut order, &mut rng);
                for &index in &order {
                    let started = Instant::now();
                    refuse(black_box(&cases[index].token));
                    let elapsed = started.elapsed();
                    total += elapsed;
                    samples[index].push(elapsed.as_secs_f64() * 1e6);
                }
            }
            total
        })
    });
    group.finish();
    // Criterion's filter may have skipped the group.
    if samples.iter().any(Vec::is_empty) {
        return;
    }
    report(group_name, cases, &mut samples);
}

/// Fisher–Yates with xorshift64: deterministic, and independent of what is measured.
fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let j = (*state % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

fn report(group_name: &str, cases: &[Case], samples: &mut [Vec<f64>]) {
    // Interrupts and preemption make a long tail that isn't the code's: crop every kind at the
    // 95th percentile of all samples pooled, as dudect crops.
    let mut pooled: Vec<f64> = samples.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let crop = pooled[pooled.len() * 95 / 100];
    for kind in samples.iter_mut() {
        kind.retain(|&micros| micros <= crop);
        kind.sort_by(f64::total_cmp);
    }
    println!("\n{group_name}: refusal time by kind of tampering (cropped at {crop:.1} µs)");
    println!(
        "{:<34} {:>8} {:>11} {:>11} {:>10} {:>8}",
        "kind", "samples", "median µs", "mean µs", "Δmean µs", "t"
    );
    let (reference_mean, reference_var) = mean_var(&samples[0]);
    let mut is_uniform = true;
    for (case, kind) in cases.iter().zip(samples.iter()) {
        let (mean, var) = mean_var(kind);
        let t = (mean - reference_mean)
            / (var / kind.len() as f64 + reference_var / samples[0].len() as f64).sqrt();
        let t = if t.is_finite() { t } else { 0.0 };
        is_uniform &= t.abs() <= T_LIMIT && kind.len() >= MIN_SAMPLES;
        println!(
            "{:<34} {:>8} {:>11.1} {:>11.1} {:>10.2} {:>8.2}",
            case.name,
            kind.len(),
            kind[kind.len() / 2],
            mean,
            mean - reference_mean,
            t
        );
    }
    println!(
        "{group_name}: {}",
        if is_uniform {
            format!(
                "no kind differs from {:?} (|t| ≤ {T_LIMIT}, ≥ {MIN_SAMPLES} samples each)",
                cases[0].name
            )
        } else {
            format!("TIMING DIFFERS or too few samples (|t| > {T_LIMIT} or < {MIN_SAMPLES})")
        }
    );
}

fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}
