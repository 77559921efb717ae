//! End-to-end benchmarks of the binary against a real registry: cold resolution, warm renders
//! from the cache, and the engine's throughput and memory on a large ResourceList.
//!
//! `cargo bench --bench engine`. Needs Debian's `docker-registry`. Every figure is measured in
//! the same run and printed with its target:
//!
//! - cold: 100 repositories x 20 tags and 10 repositories x 1,000 tags, one marked container per
//!   repository with `digestReflectionPolicy: Always` (a tag listing, then a `HEAD`), through a
//!   proxy that adds [`LATENCY`] to every request; wall time, requests, and the ratio to the
//!   lower bound of three round trips. Run with the default concurrency and with one slot per
//!   repository (`spec.concurrency`).
//! - warm: the same inputs again, answered from the disk cache.
//! - engine: a generated ResourceList of [`ITEMS`] Deployments (~20 MB) with one marker each,
//!   over 100 policies, from a warm cache: MB/s, wall time, and the process's peak RSS (as
//!   `--verbose` reports it from `/proc/self/status`).
//!
//! Times are wall-clock times of the whole process (start-up, reading stdin, writing stdout).
//!
//! `IMGPOLICY_BENCH_ONLY=cold` (or `engine`) runs only that part; the default is all parts.
//! `IMGPOLICY_BENCH_BIN=PATH` runs another build of the binary (say, of an older commit) in
//! the same harness, for before/after comparisons.

#![allow(clippy::print_stdout)] // A benchmark's report is its output.

#[path = "../common/mod.rs"]
mod common;
mod fixture;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{function_config, push_deployment};
use fixture::{Registry, SlowProxy};
use imgpolicy::resolve::DEFAULT_CONCURRENCY;

/// What the proxy adds to every request.
const LATENCY: Duration = Duration::from_millis(10);
/// Items of the engine benchmark.
const ITEMS: usize = 10_000;
/// Timed warm runs of the engine benchmark (the median is reported).
const ROUNDS: usize = 5;
/// Timed cold runs of each cold case (the median is reported).
const COLD_ROUNDS: usize = 5;

/// One run of the binary.
struct Run {
    wall: Duration,
    /// Requests the proxy forwarded during the run.
    requests: usize,
    /// Peak RSS in KiB, from `--verbose`.
    peak_kib: u64,
    /// Results that changed a value.
    changes: usize,
}

fn main() {
    let registry = Registry::start();
    let proxy = SlowProxy::start(&registry.host, LATENCY);
    let small: Vec<String> = (0..100).map(|i| format!("bench/small-{i:03}")).collect();
    let large: Vec<String> = (0..10).map(|i| format!("bench/large-{i:02}")).collect();
    let small_tags: Vec<String> = (0..20).map(|i| format!("1.0.{i}")).collect();
    let large_tags: Vec<String> = (0..1000).map(|i| format!("{}.{}.{}", 1 + i / 100, (i / 10) % 10, i % 10)).collect();
    for repository in &small {
        registry.add_repository(repository, &small_tags);
    }
    for repository in &large {
        registry.add_repository(repository, &large_tags);
    }
    // For profiling: `IMGPOLICY_BENCH_HOLD=DIR` writes the cold inputs to DIR and keeps the
    // registry and proxy up until stdin closes.
    if let Some(hold) = std::env::var_os("IMGPOLICY_BENCH_HOLD") {
        let hold = Path::new(&hold);
        std::fs::create_dir_all(hold).expect("hold dir");
        std::fs::write(hold.join("small.yaml"), cold_input(&proxy.host, &small, Some(small.len()))).expect("input");
        std::fs::write(hold.join("large.yaml"), cold_input(&proxy.host, &large, Some(large.len()))).expect("input");
        println!("registry {} behind {}; inputs in {}", registry.host, proxy.host, hold.display());
        let _ = std::io::stdin().read_line(&mut String::new());
        return;
    }
    let only = std::env::var("IMGPOLICY_BENCH_ONLY").ok();
    let part = |name: &str| only.as_deref().is_none_or(|only| only == name);
    assert!(
        only.as_deref().is_none_or(|only| matches!(only, "cold" | "engine")),
        "IMGPOLICY_BENCH_ONLY is `cold` or `engine`"
    );
    println!(
        "imgpolicy end-to-end benchmarks (registry on loopback, proxy adds {} ms per request)",
        LATENCY.as_millis()
    );
    println!();
    if part("cold") {
        cold(&registry, &proxy, &small, &large);
    }
    if part("engine") {
        engine(&proxy, &small, &registry);
    }
}

/// The cold benchmark, and warm runs of the same inputs.
///
/// Each cold figure is the median of [`COLD_ROUNDS`] runs, each with an empty cache (the machine
/// is small and shared: one run can be off by a factor of two). Next to it, the floor: what a
/// minimal client sending the same requests all at once needs, through the proxy and straight
/// to the registry ([`fixture::floor`]).
fn cold(registry: &Registry, proxy: &SlowProxy, small: &[String], large: &[String]) {
    let bound = LATENCY * 3;
    for (name, repositories, newest) in
        [("100 repositories x 20 tags", small, "1.0.19"), ("10 repositories x 1,000 tags", large, "10.9.9")]
    {
        let cold_runs = |host: &str, concurrency: Option<usize>| {
            let input = cold_input(host, repositories, concurrency);
            let runs: Vec<Run> =
                (0..COLD_ROUNDS).map(|_| run(&input, tempfile::tempdir().expect("cache dir").path(), proxy)).collect();
            assert!(runs.iter().all(|run| run.changes == repositories.len()), "every marker updated to {newest}");
            (median(runs.iter().map(|run| run.wall).collect()), runs)
        };
        let floors =
            |host: &str| median((0..COLD_ROUNDS).map(|_| fixture::floor(host, repositories, newest)).collect());
        let floor = floors(&proxy.host);
        let allowed = 1 + repositories.len() * 2;
        for concurrency in [None, Some(repositories.len())] {
            let (wall, runs) = cold_runs(&proxy.host, concurrency);
            let requests: Vec<usize> = runs.iter().map(|run| run.requests).collect();
            let input = cold_input(&proxy.host, repositories, concurrency);
            let cache = tempfile::tempdir().expect("cache dir");
            run(&input, cache.path(), proxy);
            let warm = run(&input, cache.path(), proxy);
            assert_eq!(warm.changes, repositories.len());
            let slots = concurrency.map_or_else(default_slots, |n| format!("concurrency {n}"));
            println!("cold, {name}, {slots}, median of {COLD_ROUNDS}:");
            println!(
                "  wall {:>7.1} ms   bound (3 round trips) {} ms   ratio {:.2} (target <= 2)   ours / floor {:.2}",
                ms(wall),
                bound.as_millis(),
                wall.as_secs_f64() / bound.as_secs_f64(),
                wall.as_secs_f64() / floor.as_secs_f64()
            );
            println!(
                "  requests {requests:?} (target <= 1 + {} repositories x 1 page + {} pinned = {allowed})",
                repositories.len(),
                repositories.len()
            );
            println!("warm, same input:  wall {:>7.1} ms   requests {}", ms(warm.wall), warm.requests);
        }
        // The registry's own time: the same work straight to it, no latency added.
        let (direct, _) = cold_runs(&registry.host, Some(repositories.len()));
        let direct_floor = floors(&registry.host);
        println!(
            "floor, {name} (minimal client, the same {} requests, all at once, median of {COLD_ROUNDS}):",
            repositories.len() * 2
        );
        println!(
            "  through the proxy {:>7.1} ms = {:.2} x bound",
            ms(floor),
            floor.as_secs_f64() / bound.as_secs_f64()
        );
        println!(
            "  straight to the registry {:>7.1} ms; ours straight, concurrency {}: {:>7.1} ms = {:.2} x floor",
            ms(direct_floor),
            repositories.len(),
            ms(direct),
            direct.as_secs_f64() / direct_floor.as_secs_f64()
        );
        println!();
    }
}

/// How the default concurrency is named: the constant, unless another build runs.
fn default_slots() -> String {
    match std::env::var_os("IMGPOLICY_BENCH_BIN") {
        Some(_) => "default concurrency (of IMGPOLICY_BENCH_BIN)".to_owned(),
        None => format!("default concurrency ({DEFAULT_CONCURRENCY})"),
    }
}

/// The median of `durations`.
fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort();
    durations[durations.len() / 2]
}

/// The engine benchmark: a large ResourceList from a warm cache.
fn engine(proxy: &SlowProxy, repositories: &[String], registry: &Registry) {
    let input = engine_input(&proxy.host, repositories);
    let mb = input.len() as f64 / 1e6;
    let cache = tempfile::tempdir().expect("cache dir");
    let cold = run(&input, cache.path(), proxy);
    assert_eq!(cold.changes, ITEMS, "every marker updated");
    let mut warm: Vec<Run> = (0..ROUNDS).map(|_| run(&input, cache.path(), proxy)).collect();
    warm.sort_by_key(|run| run.wall);
    let median = &warm[ROUNDS / 2];
    assert_eq!(median.changes, ITEMS);
    assert!(warm.iter().all(|run| run.requests == 0), "warm runs ask nothing");
    let peak_mb = median.peak_kib as f64 * 1024.0 / 1e6;
    let _ = registry.digest();
    // For profiling: `IMGPOLICY_BENCH_KEEP=DIR` keeps the input and the warm cache, which
    // `imgpolicy --offline --cache-dir DIR/cache < DIR/input.yaml` then renders without a registry.
    if let Some(keep) = std::env::var_os("IMGPOLICY_BENCH_KEEP") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).expect("keep dir");
        std::fs::write(keep.join("input.yaml"), &input).expect("keep the input");
        let status = Command::new("cp").arg("-r").arg(cache.path()).arg(keep.join("cache")).status();
        assert!(status.is_ok_and(|status| status.success()), "keep the cache");
    }
    println!("engine: {ITEMS} items, {mb:.1} MB, {ITEMS} markers, {} policies, warm cache:", repositories.len());
    println!("  cold (filling the cache) {:>7.1} ms, {} requests", ms(cold.wall), cold.requests);
    println!(
        "  warm wall {:>7.1} ms median of {ROUNDS} (min {:.1}, max {:.1})   target < 300 ms",
        ms(median.wall),
        ms(warm[0].wall),
        ms(warm[ROUNDS - 1].wall)
    );
    println!("  throughput {:>7.1} MB/s   target >= 100 MB/s", mb / median.wall.as_secs_f64());
    println!(
        "  peak RSS {peak_mb:.1} MB = {:.2} x input   target <= 2 x input + 20 MB = {:.1} MB",
        peak_mb / mb,
        2.0 * mb + 20.0
    );
}

/// Runs the function on `input` with the cache in `cache`; checks it succeeded.
fn run(input: &str, cache: &Path, proxy: &SlowProxy) -> Run {
    let before = proxy.requests();
    let started = Instant::now();
    let binary = std::env::var_os("IMGPOLICY_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_imgpolicy").into());
    let mut child = Command::new(binary)
        .arg("--verbose")
        .env("IMGPOLICY_CACHE_DIR", cache)
        .env("DOCKER_CONFIG", cache)
        .env("REGISTRY_AUTH_FILE", "")
        .env("XDG_RUNTIME_DIR", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("imgpolicy starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let output = std::thread::scope(|scope| {
        scope.spawn(move || stdin.write_all(input.as_bytes()).expect("stdin is written"));
        child.wait_with_output().expect("imgpolicy finishes")
    });
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "imgpolicy failed:\n{stderr}\n{}", &stdout[stdout.len().saturating_sub(2000)..]);
    let peak_kib = stderr
        .lines()
        .find_map(|line| line.strip_prefix("imgpolicy: memory: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0);
    Run { wall, requests: proxy.requests() - before, peak_kib, changes: stdout.matches("severity: info").count() }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One Deployment per repository, its image marked, digests reflected.
fn cold_input(host: &str, repositories: &[String], concurrency: Option<usize>) -> String {
    let mut text = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for (index, repository) in repositories.iter().enumerate() {
        push_deployment(&mut text, index, &format!("{host}/{repository}"), index, 0);
    }
    text + &function_config(host, repositories, true, concurrency)
}

/// [`ITEMS`] Deployments of about 2 KB, each marked with one of the policies.
fn engine_input(host: &str, repositories: &[String]) -> String {
    let mut text = String::with_capacity(ITEMS * 2100);
    text.push_str("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for index in 0..ITEMS {
        let policy = index % repositories.len();
        push_deployment(&mut text, index, &format!("{host}/{}", repositories[policy]), policy, 24);
    }
    text + &function_config(host, repositories, false, None)
}
