//! Tag selection over 100,000 realistic tags, reported as a ratio to sorting the same tags in the same run,
//! so the figures carry over between machines.
//!
//! `cargo bench --bench select`. No criterion (the dependency tree stays lean): every case runs once to warm
//! up, then once per round for [`ROUNDS`] rounds, and medians are reported. Compiling a policy is outside
//! the timings. `cargo bench --bench select -- <text>` runs only the cases whose name contains `<text>`
//! (and the baseline), e.g. to profile one.
//! The tags are generated deterministically: semver releases and prereleases, `main-<sha>-<timestamp>` CI
//! tags, cosign `.sig` tags and assorted junk, in shuffled order.

use imgpolicy::policy::{PolicySpec, RuleSpec, SelectError, TagPolicy};
use std::error::Error;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

/// Tags in the generated repository.
const TAGS: usize = 100_000;

/// Timed rounds; every round runs every case once (odd, so the median is one run).
const ROUNDS: usize = 15;

/// Seed of the tag generator.
const SEED: u64 = 0x7A65_5EED;

/// SplitMix64 (Steele, Lea and Flood, 2014): deterministic and tiny.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize])).collect()
    }
}

/// The generated repository: 35% semver tags (a third of them prereleases), 35% `main-<sha>-<timestamp>`,
/// 15% cosign signatures and 15% junk, shuffled.
fn repository_tags() -> Vec<String> {
    let mut rng = Rng(SEED);
    let mut tags: Vec<String> = (0..TAGS)
        .map(|_| match rng.below(100) {
            0..35 => semver_tag(&mut rng),
            35..70 => format!("main-{}-{}", rng.hex(7), 1_600_000_000 + rng.below(200_000_000)),
            70..85 => format!("sha256-{}.sig", rng.hex(64)),
            _ => junk_tag(&mut rng),
        })
        .collect();
    for i in (1..tags.len()).rev() {
        tags.swap(i, rng.below(i as u64 + 1) as usize);
    }
    tags
}

fn semver_tag(rng: &mut Rng) -> String {
    let v = if rng.percent(30) { "v" } else { "" };
    let (major, minor, patch) = (rng.below(8), rng.below(40), rng.below(100));
    let pre = match rng.below(9) {
        0 => format!("-rc.{}", rng.below(20)),
        1 => format!("-beta.{}", rng.below(10)),
        2 => "-alpha".to_owned(),
        _ => String::new(),
    };
    let build = if rng.percent(5) { format!("+build.{}", rng.below(1000)) } else { String::new() };
    format!("{v}{major}.{minor}.{patch}{pre}{build}")
}

fn junk_tag(rng: &mut Rng) -> String {
    match rng.below(7) {
        0 => "latest".to_owned(),
        1 => format!("pr-{}", rng.below(5000)),
        2 => format!("feature-login-{}", rng.hex(7)),
        3 => format!("{}.{}", rng.below(30), rng.below(12)),
        4 => rng.hex(40),
        5 => format!("sha256-{}.att", rng.hex(64)),
        _ => format!("nightly-2025-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
    }
}

/// Runs `f` once and measures it.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let result = black_box(f());
    (start.elapsed(), result)
}

/// The middle of `values` (sorted in place; `values` is not empty).
fn median<T: PartialOrd + Copy>(values: &mut [T]) -> T {
    values.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values[values.len() / 2]
}

fn semver(range: &str) -> PolicySpec {
    PolicySpec::new(RuleSpec::Semver { range: range.to_owned() })
}

fn describe(outcome: Result<&str, SelectError>) -> String {
    match outcome {
        Ok(tag) => format!("-> {tag}"),
        Err(e) => format!("-> error: {e}"),
    }
}

/// One measured piece of work: it times itself (so setup stays outside) and describes its result.
type Work<'a> = Box<dyn FnMut() -> (Duration, String) + 'a>;

fn main() -> Result<(), Box<dyn Error>> {
    let tags = repository_tags();
    let timestamps = PolicySpec {
        filter_pattern: Some("^main-[a-f0-9]+-(?P<ts>[0-9]+)$".to_owned()),
        filter_extract: Some("$ts".to_owned()),
        ..PolicySpec::new(RuleSpec::Numerical { order: None })
    };
    let selects = [
        ("semver `>=1.0.0`", semver(">=1.0.0")),
        ("semver `>=1.0.0-0 <5`", semver(">=1.0.0-0 <5")),
        ("alphabetical asc", PolicySpec::new(RuleSpec::Alphabetical { order: None })),
        ("numerical, extract `$ts`", timestamps),
    ];

    let tags = &tags;
    // Cloning is setup: only `sort_unstable` is timed.
    let mut cases: Vec<(&str, Work<'_>)> = vec![(
        "baseline: sort_unstable",
        Box::new(move || {
            let mut copy = tags.clone();
            let (time, ()) = timed(|| copy.sort_unstable());
            (time, String::new())
        }),
    )];
    for (name, spec) in selects {
        let policy = TagPolicy::compile(&spec)?;
        cases.push((
            name,
            Box::new(move || {
                let (time, outcome) = timed(|| policy.select(tags));
                (time, describe(outcome))
            }),
        ));
    }
    let policy = TagPolicy::compile(&semver(">=1.0.0"))?;
    cases.push((
        "evaluate semver `>=1.0.0`",
        // Dropping the 100,000 reports is part of the explain path.
        Box::new(move || {
            let (time, outcome) = timed(|| policy.evaluate(tags).outcome);
            (time, describe(outcome))
        }),
    ));
    // Cargo passes `--bench`; the first other argument selects cases.
    if let Some(only) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        let baseline = cases.remove(0);
        cases.retain(|(name, _)| name.contains(only.as_str()));
        cases.insert(0, baseline);
    }

    // Rounds interleave the cases, and each case's ratio is the median of its per-round ratios to the
    // baseline, so that load from other processes, which drifts over seconds, cancels out.
    let mut results: Vec<String> = cases.iter_mut().map(|(_, work)| work().1).collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for _ in 0..ROUNDS {
        for (((_, work), case_times), case_result) in cases.iter_mut().zip(&mut times).zip(&mut results) {
            let (time, result) = work();
            case_times.push(time);
            *case_result = result;
        }
    }

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{TAGS} tags; {ROUNDS} interleaved rounds after one warm-up; ratios are medians of per-round ratios"
    )?;
    writeln!(out, "{:<28} {:>10} {:>8} {:>12} {:>11}  result", "case", "median ms", "min ms", "tags/s", "x baseline")?;
    for (index, (name, _)) in cases.iter().enumerate() {
        let mut ratios: Vec<f64> =
            times[index].iter().zip(&times[0]).map(|(t, b)| t.as_secs_f64() / b.as_secs_f64()).collect();
        let ratio = median(&mut ratios);
        let min = times[index].iter().min().copied().unwrap_or_default();
        // A sorted copy: `times[0]` must keep its round order for the ratios of the cases after it.
        let seconds = median(&mut times[index].clone()).as_secs_f64();
        let rate = TAGS as f64 / seconds;
        let (ms, min_ms) = (seconds * 1e3, min.as_secs_f64() * 1e3);
        writeln!(out, "{name:<28} {ms:>10.2} {min_ms:>8.2} {rate:>12.0} {ratio:>11.2}  {}", results[index])?;
    }
    Ok(())
}
