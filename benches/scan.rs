//! YAML scanning alone, the fast scanner against granit-parser, in MB/s and as a ratio measured
//! in the same run, so the figures carry over between machines.
//!
//! `cargo bench --bench scan`, or `cargo bench --bench scan -- FILE...` to scan files instead;
//! `--fast-only` leaves granit-parser out, to profile the fast scanner.
//! The generated inputs are ResourceLists of [`ITEMS`] Deployments of about 2 KB: the engine
//! benchmark's (block style with one-line flow mappings, each image marked by a trailing
//! comment), and the same resources in kyaml's all-block style. Every round scans every input
//! with both scanners (events counted, nothing built); medians of [`ROUNDS`] rounds after one
//! warm-up. Times are the thread's CPU time where Linux reports it, so that other work on the
//! machine skews them less.

mod common;

use common::{function_config, push_deployment};
use imgpolicy::yaml::{Scanner, count_events};
use std::error::Error;
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// Deployments in a generated ResourceList, as in the engine benchmark.
const ITEMS: usize = 10_000;

/// `env` variables per Deployment, as in the engine benchmark.
const ENV: usize = 24;

/// Image policies (and repositories) the Deployments are spread over.
const POLICIES: usize = 20;

/// Timed rounds (odd, so the median is one run).
const ROUNDS: usize = 5;

const HOST: &str = "127.0.0.1:5000";

/// The engine benchmark's input, without digests.
fn engine_input() -> String {
    let repositories = repositories();
    let mut text = String::with_capacity(ITEMS * 2100);
    text.push_str("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for index in 0..ITEMS {
        let policy = index % POLICIES;
        push_deployment(&mut text, index, &format!("{HOST}/{}", repositories[policy]), policy, ENV);
    }
    text + &function_config(HOST, &repositories, false, None)
}

/// The repositories of the [`POLICIES`] policies.
fn repositories() -> Vec<String> {
    (0..POLICIES).map(|policy| format!("team/app-{policy}")).collect()
}

/// The same resources as kyaml writes them: block style throughout, sequences not indented
/// under their key.
fn kyaml_input() -> String {
    let mut text = String::with_capacity(ITEMS * 2600);
    text.push_str("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for index in 0..ITEMS {
        let policy = index % POLICIES;
        let image = format!("{HOST}/team/app-{policy}");
        let _ = write!(
            text,
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app-{index}\n    namespace: team-{}\n    \
             labels:\n      app: app-{index}\n      tier: backend\n    annotations:\n      \
             config.kubernetes.io/path: 'apps/app-{index}.yaml'\n  spec:\n    replicas: 3\n    \
             selector:\n      matchLabels:\n        app: app-{index}\n    template:\n      metadata:\n        \
             labels:\n          app: app-{index}\n      spec:\n        containers:\n        - name: app\n          \
             image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:p{policy}\"}}\n          \
             ports:\n          - containerPort: 8080\n            name: http\n          env:\n",
            index % 50
        );
        for variable in 0..ENV {
            let _ = write!(
                text,
                "          - name: SETTING_{variable:02}\n            value: \"value of setting {variable} for app {index}\"\n"
            );
        }
    }
    text + &function_config(HOST, &repositories(), false, None)
}

/// The time this thread has run on a CPU (Linux), so that other load on the machine does not
/// count; `None` elsewhere, where the wall clock is used instead.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

fn timed(source: &str, scanner: Scanner) -> Result<(Duration, usize), String> {
    let (cpu, wall) = (cpu_time(), Instant::now());
    let events = black_box(count_events(black_box(source), scanner))?;
    let elapsed = match (cpu, cpu_time()) {
        (Some(start), Some(end)) => end.saturating_sub(start),
        _ => wall.elapsed(),
    };
    Ok((elapsed, events))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), Box<dyn Error>> {
    let files: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    let fast_only = std::env::args().any(|arg| arg == "--fast-only");
    let inputs: Vec<(String, String)> = if files.is_empty() {
        vec![("engine input (flow env)".to_owned(), engine_input()), ("kyaml all-block".to_owned(), kyaml_input())]
    } else {
        files
            .into_iter()
            .map(|path| std::fs::read_to_string(&path).map(|source| (path, source)))
            .collect::<Result<_, std::io::Error>>()?
    };

    let mut out = std::io::stdout().lock();
    let clock = if cpu_time().is_some() { "thread CPU time" } else { "wall clock" };
    writeln!(out, "scan only (events counted); {ROUNDS} interleaved rounds after one warm-up; medians; {clock}")?;
    writeln!(
        out,
        "{:<26} {:>8} {:>10} {:>12} {:>12} {:>8}",
        "input", "MB", "events", "fast MB/s", "granit MB/s", "ratio"
    )?;
    for (name, source) in &inputs {
        let megabytes = source.len() as f64 / 1e6;
        let fast_events = match timed(source, Scanner::Fast) {
            Ok((_, count)) => count,
            Err(declined) => {
                writeln!(out, "{name:<26} {megabytes:>8.1}  fast scanner {declined}")?;
                continue;
            }
        };
        if fast_only {
            let mut fast: Vec<f64> = (0..ROUNDS * 4)
                .map(|_| timed(source, Scanner::Fast).map(|(time, _)| megabytes / time.as_secs_f64()))
                .collect::<Result<_, _>>()?;
            let best = fast.iter().copied().fold(0.0, f64::max);
            writeln!(
                out,
                "{name:<26} {megabytes:>8.1} {fast_events:>10} {:>12.0} (best {best:.0})",
                median(&mut fast)
            )?;
            continue;
        }
        let (_, events) = timed(source, Scanner::Granit)?;
        assert_eq!(fast_events, events, "{name}: the scanners disagree on the number of events");
        let (mut fast, mut granit, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let (fast_time, _) = timed(source, Scanner::Fast)?;
            let (granit_time, _) = timed(source, Scanner::Granit)?;
            fast.push(megabytes / fast_time.as_secs_f64());
            granit.push(megabytes / granit_time.as_secs_f64());
            ratios.push(granit_time.as_secs_f64() / fast_time.as_secs_f64());
        }
        let (fast, granit, ratio) = (median(&mut fast), median(&mut granit), median(&mut ratios));
        writeln!(out, "{name:<26} {megabytes:>8.1} {events:>10} {fast:>12.0} {granit:>12.1} {ratio:>7.1}x")?;
    }
    Ok(())
}
