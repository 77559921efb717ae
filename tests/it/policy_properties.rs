//! Property tests of tag selection: 2,000 generated tag lists and policies, each checked against a reference
//! written from `flux-policy-semantics.md`, not from the engine.
//!
//! No proptest or quickcheck (the dependency tree stays lean): a SplitMix64 generator builds every case from
//! one 64-bit seed. A failure prints the seed, the policy and the tags; `POLICY_PROPERTY_SEED=<seed> cargo
//! test --test it policy_properties` replays that one case.
//!
//! 1,000 semver, 500 alphabetical and 500 numerical cases by default: about 3 s of CPU in a debug build, so
//! 1.5–1.8 s on two idle cores. A debug `select` over ~40 tags costs 150–250 µs and the order property runs
//! it five times per case. `POLICY_PROPERTY_CASES=<n>` runs `n` cases of each kind instead, for a soak.
//!
//! Properties (the letters label the tests below):
//! - (a) the selection does not depend on the order of the tags (reversed, three shuffles);
//! - (b) a semver winner survives the exclusion list, parses and satisfies the range;
//! - (c) no satisfying tag has a greater version, and among equal versions the winner is the greatest string;
//! - (d) `NoMatch` / `NoTags` only when nothing satisfies / nothing survives the exclusion list;
//! - (e) (a)–(d) for alphabetical and numerical policies, with and without `filterTags`;
//! - (f) `evaluate` agrees with `select` and marks exactly its answer `Selected`;
//! - (g) `Version` parses and orders generated tags as an independent model of SemVer precedence says.
//!
//! (b)–(d) trust `Version::parse` and `Constraints::matches` (the tables in `src/semver` test those, and (g)
//! the parser and order) and check the policy around them: exclusion, de-duplication, ranking and ties.
//! Numbers are checked against a reference that compares digit strings, independent of the engine's
//! `Decimal`.

use imgpolicy::policy::{PolicySpec, RuleSpec, SelectError, TagFate, TagPolicy};
use imgpolicy::semver::{Constraints, Version};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;

/// Semver cases unless `POLICY_PROPERTY_CASES` says otherwise.
const SEMVER_CASES: u64 = 1_000;

/// Alphabetical and numerical cases (each) unless `POLICY_PROPERTY_CASES` says otherwise.
const ORDERED_CASES: u64 = 500;

/// Seed of case 0; case `i` uses `FIRST_SEED + i` (SplitMix64 decorrelates neighbouring seeds).
const FIRST_SEED: u64 = 0x5EED_0000_0000;

/// Mixed into a case's seed to shuffle its tags, so shuffles do not replay the case's own draws.
const SHUFFLE_SALT: u64 = 0x5A17_5A17_5A17_5A17;

/// Fewer cases than this (a replay) skip the checks that the generator reached every situation.
const MIN_CASES_FOR_COVERAGE: usize = 500;

/// Ranges drawn from templates (besides the fixed ones) for the semver cases to share.
const TEMPLATE_RANGES: usize = 200;

/// `filterTags.pattern` of the filtered ordered cases; the reference applies it by hand in [`filter_value`].
const FILTER_PATTERN: &str = "^(?:a|b)-(?P<n>.+)$";

/// The seeds to run: only `POLICY_PROPERTY_SEED` when set, else `POLICY_PROPERTY_CASES` or `default_cases`.
fn seeds(default_cases: u64) -> Vec<u64> {
    if let Ok(text) = std::env::var("POLICY_PROPERTY_SEED") {
        return vec![parse_seed(&text)];
    }
    let cases = match std::env::var("POLICY_PROPERTY_CASES") {
        Ok(n) => n.trim().parse().unwrap_or_else(|e| panic!("POLICY_PROPERTY_CASES=`{n}`: {e}")),
        Err(_) => default_cases,
    };
    (0..cases).map(|i| FIRST_SEED.wrapping_add(i)).collect()
}

/// A seed as printed by a failure (`0x…`), or in decimal.
fn parse_seed(text: &str) -> u64 {
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|e| panic!("POLICY_PROPERTY_SEED=`{text}` is not a u64: {e}"))
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a few lines, deterministic, good enough to drive a generator.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`); the modulo bias does not matter for test data.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// True `percent` times in a hundred.
    fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// `len` lowercase hex digits, like a short commit hash.
    fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(b"0123456789abcdef"[self.below(16)])).collect()
    }
}

/// One generated policy and tag list: everything a failure must print to be reproduced.
struct Case {
    seed: u64,
    spec: PolicySpec,
    tags: Vec<String>,
}

impl Case {
    fn is_filtered(&self) -> bool {
        self.spec.filter_pattern.is_some()
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seed = self.seed;
        writeln!(f, "seed {seed:#x} (replay: POLICY_PROPERTY_SEED={seed:#x} cargo test --test it policy_properties)")?;
        match &self.spec.rule {
            RuleSpec::Semver { range } => write!(f, "policy: semver range `{range}`")?,
            RuleSpec::Alphabetical { order } => write!(f, "policy: alphabetical order {order:?}")?,
            RuleSpec::Numerical { order } => write!(f, "policy: numerical order {order:?}")?,
        }
        if let Some(pattern) = &self.spec.filter_pattern {
            write!(f, ", filterTags.pattern `{pattern}` extract {:?}", self.spec.filter_extract)?;
        }
        write!(f, "\ntags ({}): {:?}", self.tags.len(), self.tags)
    }
}

/// A case and what `select` returned for its tags in generated order.
struct Run {
    case: Case,
    policy: usize,
    outcome: Result<String, SelectError>,
}

/// The runs of one kind of case, computed once and shared by the properties that read them. In a debug build
/// compiling a policy (its exclusion regex) takes about a millisecond and selecting 100–250 µs, so doing it
/// per property would cost seconds; cases also share a few hundred distinct policies.
struct Runs {
    runs: Vec<Run>,
    policies: Vec<TagPolicy>,
}

impl Runs {
    fn new(cases: impl Iterator<Item = Case>) -> Self {
        let mut by_spec: HashMap<String, usize> = HashMap::new();
        let mut policies = Vec::new();
        let mut runs = Vec::new();
        for case in cases {
            let key = format!("{:?}", case.spec);
            let policy = match by_spec.get(&key) {
                Some(&index) => index,
                None => {
                    let compiled = TagPolicy::compile(&case.spec);
                    policies.push(
                        compiled.unwrap_or_else(|e| panic!("the generated policy does not compile: {e}\n{case}")),
                    );
                    by_spec.insert(key, policies.len() - 1);
                    policies.len() - 1
                }
            };
            let outcome = policies[policy].select(&case.tags).map(str::to_owned);
            runs.push(Run { case, policy, outcome });
        }
        Self { runs, policies }
    }

    fn iter(&self) -> impl Iterator<Item = (&Case, &TagPolicy, Result<&str, &SelectError>)> {
        self.runs.iter().map(|r| (&r.case, &self.policies[r.policy], r.outcome.as_deref()))
    }

    fn len(&self) -> usize {
        self.runs.len()
    }
}

/// The semver runs, shared by the tests of this file.
fn semver_runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| Runs::new(seeds(SEMVER_CASES).into_iter().map(|seed| semver_case(seed).case)))
}

/// The alphabetical or numerical runs, shared by the tests of this file.
fn ordered_runs(kind: Kind) -> &'static Runs {
    static ALPHABETICAL: OnceLock<Runs> = OnceLock::new();
    static NUMERICAL: OnceLock<Runs> = OnceLock::new();
    let runs = match kind {
        Kind::Alphabetical => &ALPHABETICAL,
        Kind::Numerical => &NUMERICAL,
    };
    runs.get_or_init(|| Runs::new(seeds(ORDERED_CASES).into_iter().map(|seed| ordered_case(seed, kind))))
}

/// Counts how often each situation came up, so a generator change cannot silently make a property vacuous.
#[derive(Default)]
struct Coverage(BTreeMap<&'static str, usize>);

impl Coverage {
    fn count(&mut self, situation: &'static str, happened: bool) {
        *self.0.entry(situation).or_default() += usize::from(happened);
    }

    /// Fails unless every counted situation came up at least once (skipped on short runs such as replays).
    fn assert_reached(&self, cases: usize) {
        if cases < MIN_CASES_FOR_COVERAGE {
            return;
        }
        let missed: Vec<_> = self.0.iter().filter(|(_, n)| **n == 0).map(|(s, _)| *s).collect();
        assert!(missed.is_empty(), "the generator never produced: {missed:?} (counts: {:?})", self.0);
    }
}

/// Whether the default exclusion list `^.*\.sig$` drops `tag` (tags have no newlines).
fn is_excluded(tag: &str) -> bool {
    tag.ends_with(".sig")
}

// ---------------------------------------------------------------------------------------------------------
// Semver cases
// ---------------------------------------------------------------------------------------------------------

/// SemVer 2.0 precedence of a generated tag, modelled without the engine: the derived order compares
/// components, then release above prerelease, then identifiers one by one (numeric below alphanumeric,
/// numbers by value, text by bytes, a shorter prefix first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Precedence {
    major: u64,
    minor: u64,
    patch: u64,
    release: bool,
    pre: Vec<PreId>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreId {
    Numeric(u64),
    Alphanumeric(String),
}

fn precedence(major: u64, minor: u64, patch: u64, pre: &str) -> Precedence {
    let pre: Vec<PreId> = match pre {
        "" => Vec::new(),
        _ => pre
            .split('.')
            .map(|id| match id.parse() {
                Ok(n) if id.bytes().all(|b| b.is_ascii_digit()) => PreId::Numeric(n),
                _ => PreId::Alphanumeric(id.to_owned()),
            })
            .collect(),
    };
    Precedence { major, minor, patch, release: pre.is_empty(), pre }
}

/// A generated semver case, with what the spec says each tag is (`None`: not a version).
struct SemverCase {
    case: Case,
    precedences: Vec<Option<Precedence>>,
}

/// `(major, minor, patch, prerelease)` of a version the spec sees in a tag.
type Components = (u64, u64, u64, &'static str);

/// Tags that are no versions, or versions in odd spellings, with their precedence per the spec.
const ODD_TAGS: &[(&str, Option<Components>)] = &[
    ("latest", None),
    ("stable", None),
    ("main-abc123", None),
    ("1.2", None),
    ("v1", None),
    ("1.2.3.4", None),
    ("V1.2.3", None),
    ("1.2.beta", None),
    ("1.2.3-rc.01", None),
    ("1.0.0-", None),
    ("1.0.0+", None),
    ("-1.0.0", None),
    ("1.1.1 ", None),
    ("sha256-x.sig", None),
    ("1.2-rc.1", Some((1, 2, 0, "rc.1"))),
    ("1.2.3-0abc", Some((1, 2, 3, "0abc"))),
    ("v3.04.01", Some((3, 4, 1, ""))),
    ("1.0.0-rc.1+build.5", Some((1, 0, 0, "rc.1"))),
    // Versions the default exclusion list drops: they must never win.
    ("3.0.0+b.sig", Some((3, 0, 0, ""))),
    ("2.1.0-rc.1.sig", Some((2, 1, 0, "rc.1.sig"))),
];

fn semver_case(seed: u64) -> SemverCase {
    let mut rng = Rng::new(seed);
    let range = rng.pick(range_pool()).clone();
    let count = rng.between(20, 60);
    let only_signatures = rng.percent(3);
    let mut tags: Vec<(String, Option<Precedence>)> = Vec::with_capacity(count);
    while tags.len() < count {
        let tag = if only_signatures {
            signature_tag(&mut rng)
        } else {
            match rng.below(10) {
                0 | 1 => odd_tag(&mut rng),
                2 | 3 if !tags.is_empty() => {
                    let original = rng.below(tags.len());
                    respell(&mut rng, &tags[original])
                }
                _ => version_tag(&mut rng),
            }
        };
        tags.push(tag);
    }
    let (tags, precedences) = tags.into_iter().unzip();
    let spec = PolicySpec::new(RuleSpec::Semver { range });
    SemverCase { case: Case { seed, spec, tags }, precedences }
}

/// The ranges semver cases draw from: fixed ones, each repeated so they make up about a third of the pool,
/// and [`TEMPLATE_RANGES`] filled in from templates with a fixed seed.
fn range_pool() -> &'static [String] {
    const FIXED: &[&str] =
        &[">=1.0.0", "^1.2", "~0.3", "1.x", ">=1.0.0-0 <3", "<2 || >=3.1", "*", "!=1.1.0", ">=0.0.0-0", "x"];
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut rng = Rng::new(FIRST_SEED);
        let fixed = FIXED.iter().cycle().take(TEMPLATE_RANGES / 2).map(|r| (*r).to_owned());
        fixed.chain((0..TEMPLATE_RANGES).map(|_| template_range(&mut rng))).collect()
    })
}

/// A range from a template; holes get components in `0..5`, like the tags.
fn template_range(rng: &mut Rng) -> String {
    let [a, b, c, d, e] = [(); 5].map(|()| rng.below(5));
    let pre = *rng.pick(&["-0", "-alpha", "-rc.1", "-rc.10", "-alpha.1"]);
    match rng.below(24) {
        0 => format!(">={a}.{b}.{c}"),
        1 => format!("^{a}.{b}"),
        2 => format!("~{a}.{b}"),
        3 => format!("{a}.x"),
        4 => format!(">={a}.{b}.{c}-0 <{d}"),
        5 => format!("<{a} || >={b}.{c}"),
        6 => format!("!={a}.{b}.{c}"),
        7 => format!("{a}.{b}.{c} - {d}.{e}.0"),
        8 => format!("{a}.{b} - {d}"),
        9 => format!(">={a}.{b}.{c}{pre}"),
        10 => format!("^{a}.{b}.{c}{pre}"),
        11 => format!("~{a}.{b}.{c}{pre}, <{d}.{e}.0"),
        12 => format!(">{a}.{b}.{c} <={d}.{e}"),
        13 => format!("={a}.{b}.{c}"),
        14 => format!("v{a}.{b}.{c}"),
        15 => format!("<={a}.{b}"),
        16 => format!(">{a}.x"),
        17 => format!("!={a}.x"),
        18 => format!("^0.{b}.{c}"),
        19 => format!("{a}.{b}.{c}{pre} - {d}.{e}.0"),
        20 => format!(">={a}.{b}.{c}-0 <{d}.{e}.0-0 || ~{c}.{a}"),
        21 => format!("~>{a}.{b}.{c}"),
        22 => format!("=>{a}.{b}, =<{d}"),
        _ => format!("<{a}.{b}.{c}{pre}"),
    }
}

/// A version with small components, maybe a `v`, a prerelease and build metadata.
fn version_tag(rng: &mut Rng) -> (String, Option<Precedence>) {
    let [major, minor, patch] = [(); 3].map(|()| rng.below(5) as u64);
    let v = if rng.percent(25) { "v" } else { "" };
    let pre = match rng.below(12) {
        0 | 1 => format!("rc.{}", rng.below(12)),
        2 => "alpha".to_owned(),
        3 => "alpha.1".to_owned(),
        4 => "0".to_owned(),
        5 => "rc10".to_owned(),
        _ => String::new(),
    };
    let build = if rng.percent(12) { *rng.pick(&["+b1", "+b2", "+build.7"]) } else { "" };
    let dash = if pre.is_empty() { "" } else { "-" };
    let text = format!("{v}{major}.{minor}.{patch}{dash}{pre}{build}");
    (text, Some(precedence(major, minor, patch, &pre)))
}

fn odd_tag(rng: &mut Rng) -> (String, Option<Precedence>) {
    let (text, expected) = *rng.pick(ODD_TAGS);
    let text = match text {
        "main-abc123" => format!("main-{}", rng.hex(7)),
        _ => text.to_owned(),
    };
    (text, expected.map(|(major, minor, patch, pre)| precedence(major, minor, patch, pre)))
}

/// A cosign-style tag; all-signature cases must select nothing (`NoTags`).
fn signature_tag(rng: &mut Rng) -> (String, Option<Precedence>) {
    if rng.percent(50) {
        (format!("sha256-{}.sig", rng.hex(12)), None)
    } else {
        let [major, minor, patch] = [(); 3].map(|()| rng.below(5) as u64);
        (format!("{major}.{minor}.{patch}+sig.sig"), Some(precedence(major, minor, patch, "")))
    }
}

/// The same tag again, or the same version spelled differently (`v`, build metadata, a leading zero).
fn respell(rng: &mut Rng, (text, expected): &(String, Option<Precedence>)) -> (String, Option<Precedence>) {
    if expected.is_none() {
        return (text.clone(), None);
    }
    let text = match rng.below(4) {
        0 => text.clone(),
        1 => match text.strip_prefix('v') {
            Some(bare) => bare.to_owned(),
            None => format!("v{text}"),
        },
        2 => match text.split_once('+') {
            Some((without_build, _)) => without_build.to_owned(),
            None => format!("{text}+b1"),
        },
        _ => match text.strip_prefix('v') {
            Some(bare) => format!("v0{bare}"),
            None => format!("0{text}"),
        },
    };
    (text, expected.clone())
}

/// The spec's view of a semver case: every tag that survives the exclusion list, parses and satisfies.
fn satisfying<'t>(range: &Constraints, tags: &'t [String]) -> Vec<(&'t str, Version)> {
    tags.iter()
        .filter(|t| !is_excluded(t))
        .filter_map(|t| Version::parse(t).ok().map(|v| (t.as_str(), v)))
        .filter(|(_, v)| range.matches(v))
        .collect()
}

/// The range of a semver case.
fn range_of(case: &Case) -> Constraints {
    let RuleSpec::Semver { range } = &case.spec.rule else { panic!("not a semver case\n{case}") };
    Constraints::parse(range).unwrap_or_else(|e| panic!("{e}\n{case}"))
}

fn parse_winner(case: &Case, winner: &str) -> Version {
    Version::parse(winner).unwrap_or_else(|e| panic!("the winner `{winner}` is not a version: {e}\n{case}"))
}

/// (a) The same tags in other orders give what they gave in generated order: reversed, and three seeded
/// shuffles.
fn assert_order_independent(runs: &Runs) {
    for (case, policy, expected) in runs.iter() {
        let mut reversed = case.tags.clone();
        reversed.reverse();
        let mut orders = vec![("reversed", reversed)];
        let mut rng = Rng::new(case.seed ^ SHUFFLE_SALT);
        for name in ["shuffle 1", "shuffle 2", "shuffle 3"] {
            let mut shuffled = case.tags.clone();
            rng.shuffle(&mut shuffled);
            orders.push((name, shuffled));
        }
        for (name, tags) in &orders {
            let got = policy.select(tags);
            assert_eq!(
                got.as_ref().copied(),
                expected,
                "the selection changed with the tags in another order\n{case}\n{name}: {tags:?}"
            );
        }
    }
}

/// (a) Semver selection does not depend on the order of the tags.
#[test]
fn semver_selection_ignores_input_order() {
    assert_order_independent(semver_runs());
}

/// (b) The semver winner survives the exclusion list, parses and satisfies the range.
#[test]
fn semver_winner_satisfies_the_range() {
    let runs = semver_runs();
    let mut coverage = Coverage::default();
    for (case, _, outcome) in runs.iter() {
        let range = range_of(case);
        coverage.count("a winner", outcome.is_ok());
        coverage.count("an excluded version that would satisfy", {
            let excluded = case.tags.iter().filter(|t| is_excluded(t));
            excluded.filter_map(|t| Version::parse(t).ok()).any(|v| range.matches(&v))
        });
        let Ok(winner) = outcome else { continue };
        assert!(!is_excluded(winner), "the winner `{winner}` matches the default exclusion `^.*\\.sig$`\n{case}");
        let version = parse_winner(case, winner);
        assert!(range.matches(&version), "the winner `{winner}` does not satisfy `{range}`\n{case}");
    }
    coverage.assert_reached(runs.len());
}

/// (c) No satisfying tag has a greater version than the winner, and among equal versions the winner is the
/// lexicographically greatest tag.
#[test]
fn semver_winner_is_the_greatest_satisfying_version() {
    let runs = semver_runs();
    let mut coverage = Coverage::default();
    for (case, _, outcome) in runs.iter() {
        let Ok(winner) = outcome else { continue };
        let range = range_of(case);
        let winner_version = parse_winner(case, winner);
        let mut tie = false;
        let mut prerelease = false;
        for (tag, version) in satisfying(&range, &case.tags) {
            match version.cmp(&winner_version) {
                Ordering::Greater => {
                    panic!("`{tag}` satisfies `{range}` and is greater than the winner `{winner}`\n{case}")
                }
                Ordering::Equal => {
                    assert!(
                        tag <= winner,
                        "`{tag}` ties with the winner `{winner}` but is lexicographically greater\n{case}"
                    );
                    tie |= tag != winner;
                }
                Ordering::Less => {}
            }
            prerelease |= version.is_prerelease();
        }
        coverage.count("a tie between spellings", tie);
        coverage.count("a prerelease winner", winner_version.is_prerelease());
        coverage.count("a satisfying prerelease", prerelease);
    }
    coverage.assert_reached(runs.len());
}

/// (d) `NoMatch` means nothing satisfies though some tag survived the exclusion list; `NoTags` means the
/// exclusion list dropped every tag.
#[test]
fn semver_no_match_means_nothing_satisfies() {
    let runs = semver_runs();
    let mut coverage = Coverage::default();
    for (case, _, outcome) in runs.iter() {
        coverage.count("NoMatch", outcome == Err(&SelectError::NoMatch));
        coverage.count("NoTags", outcome == Err(&SelectError::NoTags));
        let survivors = case.tags.iter().filter(|t| !is_excluded(t)).count();
        match outcome {
            Ok(_) => {}
            Err(SelectError::NoMatch) => {
                let range = range_of(case);
                let satisfied: Vec<&str> = satisfying(&range, &case.tags).into_iter().map(|(t, _)| t).collect();
                assert!(satisfied.is_empty(), "`NoMatch`, yet {satisfied:?} satisfy `{range}`\n{case}");
                assert!(survivors > 0, "`NoMatch`, but the exclusion list dropped every tag (want `NoTags`)\n{case}");
            }
            Err(SelectError::NoTags) => {
                assert_eq!(survivors, 0, "`NoTags`, yet {survivors} tags survive the exclusion list\n{case}");
            }
            Err(other) => panic!("a semver policy failed with `{other}`\n{case}"),
        }
    }
    coverage.assert_reached(runs.len());
}

/// (g) `Version::parse` accepts exactly the tags the spec calls versions, and orders them by SemVer precedence
/// (every pair, both ways, against [`Precedence`]). (a)–(d) trust both, so only this test can see them wrong.
#[test]
fn versions_parse_and_order_by_semver_precedence() {
    for seed in seeds(SEMVER_CASES) {
        let SemverCase { case, precedences, .. } = semver_case(seed);
        let mut versions = Vec::new();
        for (tag, expected) in case.tags.iter().zip(&precedences) {
            match (Version::parse(tag), expected) {
                (Ok(v), Some(p)) => versions.push((tag, v, p)),
                (Err(_), None) => {}
                (Ok(v), None) => panic!("`{tag}` is not a version per the spec, yet parses as `{v}`\n{case}"),
                (Err(e), Some(_)) => panic!("`{tag}` is a version per the spec: {e}\n{case}"),
            }
        }
        for (tag_a, a, pa) in &versions {
            for (tag_b, b, pb) in &versions {
                assert_eq!(a.cmp(b), pa.cmp(pb), "`{tag_a}` vs `{tag_b}` ({pa:?} vs {pb:?})\n{case}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Alphabetical and numerical cases
// ---------------------------------------------------------------------------------------------------------

/// Which ordered rule a case uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alphabetical,
    Numerical,
}

/// Not numbers for the numerical rule (nor for the reference in [`plain_decimal`]).
const NOT_NUMBERS: &[&str] =
    &["1a", "latest", "1e", "--1", "1.2.3", "0x10", "inf", "NaN", " 1", "1_000", ".", "-", "v1"];

const WORDS: &[&str] = &["xenial", "yakkety", "zesty", "artful", "bionic", "latest", "Latest", "main", "café", "caf"];

/// An alphabetical or numerical case; 30% carry `filterTags` ([`FILTER_PATTERN`], extracting the suffix).
fn ordered_case(seed: u64, kind: Kind) -> Case {
    let mut rng = Rng::new(seed);
    let order = rng.pick(&[None, Some(""), Some("asc"), Some("desc")]).map(str::to_owned);
    let filtered = rng.percent(30);
    let bad_numbers = if kind == Kind::Numerical && rng.percent(12) { rng.between(1, 3) } else { 0 };
    let count = rng.between(20, 60);
    let mut bodies: Vec<String> = Vec::with_capacity(count);
    while bodies.len() < count {
        let body = if rng.percent(20) && !bodies.is_empty() {
            let original = rng.below(bodies.len());
            respell_number(&mut rng, &bodies[original])
        } else if kind == Kind::Numerical {
            number_text(&mut rng)
        } else {
            word_tag(&mut rng)
        };
        bodies.push(body);
    }
    for _ in 0..bad_numbers {
        let at = rng.below(bodies.len());
        bodies[at] = (*rng.pick(NOT_NUMBERS)).to_owned();
    }
    if rng.percent(30) {
        let at = rng.below(bodies.len());
        bodies[at] = format!("{}.sig", number_text(&mut rng));
    }
    let mut tags = Vec::with_capacity(bodies.len());
    for body in bodies {
        if !filtered {
            tags.push(body);
            continue;
        }
        // Sharing a body under both prefixes makes two tags extract the same value.
        let prefixes: &[&str] = if rng.percent(20) { &["a-", "b-"] } else { &[*rng.pick(&["a-", "b-", "rel-"])] };
        tags.extend(prefixes.iter().map(|p| format!("{p}{body}")));
    }
    let rule = match kind {
        Kind::Alphabetical => RuleSpec::Alphabetical { order },
        Kind::Numerical => RuleSpec::Numerical { order },
    };
    let mut spec = PolicySpec::new(rule);
    if filtered {
        spec.filter_pattern = Some(FILTER_PATTERN.to_owned());
        spec.filter_extract = Some((*rng.pick(&["$n", "${n}", "$1"])).to_owned());
    }
    Case { seed, spec, tags }
}

/// A plain decimal: integers up to 30 digits (past `u64` and `2^53`), timestamps, fractions, `.5`, `5.`.
fn number_text(rng: &mut Rng) -> String {
    let unsigned = match rng.below(7) {
        0 | 1 => rng.below(13).to_string(),
        2 => {
            let len = rng.between(1, 30);
            let first = char::from(b'1' + rng.below(9) as u8);
            let rest: String = (1..len).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
            format!("{first}{rest}")
        }
        3 => (1_600_000_000 + rng.below(200_000_000)).to_string(),
        4 => format!("{}.{}", rng.below(100), rng.below(1_000_000)),
        5 => (*rng.pick(&[".5", "5.", "0.05", "2.50", "9007199254740993", "18446744073709551616"])).to_owned(),
        _ => format!("{}.{}0", rng.below(10), rng.below(10)),
    };
    let sign = match rng.below(20) {
        0..=3 => "-",
        4 => "+",
        _ => "",
    };
    format!("{sign}{unsigned}")
}

/// Mostly integer and decimal tags, with words, calendar versions and semver tags.
fn word_tag(rng: &mut Rng) -> String {
    match rng.below(8) {
        0..=2 => number_text(rng),
        3 => format!("{}.{:02}", rng.between(16, 24), rng.pick(&[4, 10])),
        4 => (*rng.pick(WORDS)).to_owned(),
        5 => version_tag(rng).0,
        6 => format!("main-{}", rng.hex(7)),
        _ => format!("sha256-{}.sig", rng.hex(8)),
    }
}

/// The same text, or (for a number) the same value spelled differently: leading or trailing zeros, `+`.
fn respell_number(rng: &mut Rng, text: &str) -> String {
    let Some((sign, digits)) = plain_decimal(text).map(|_| split_sign(text)) else {
        return text.to_owned();
    };
    match rng.below(4) {
        0 => text.to_owned(),
        1 => format!("{sign}0{digits}"),
        2 if digits.contains('.') => format!("{text}0"),
        2 => format!("{text}.0"),
        _ => match sign {
            "+" => digits.to_owned(),
            "" => format!("+{digits}"),
            _ => text.to_owned(),
        },
    }
}

fn split_sign(text: &str) -> (&str, &str) {
    match text.as_bytes().first() {
        Some(b'+' | b'-') => text.split_at(1),
        _ => ("", text),
    }
}

/// A number in the plain form `[+-]?digits[.digits]` (at least one digit) as (sign, integer digits without
/// leading zeros, fraction digits without trailing zeros); `None` for anything else. Exponents are left to
/// the unit tests of `Decimal`, so the generator never writes them.
fn plain_decimal(text: &str) -> Option<(i8, &str, &str)> {
    let (sign, body) = split_sign(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = int.bytes().chain(frac.bytes());
    if int.len() + frac.len() == 0 || !digits.clone().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (int, frac) = (int.trim_start_matches('0'), frac.trim_end_matches('0'));
    let sign = match (int.is_empty() && frac.is_empty(), sign) {
        (true, _) => 0,
        (false, "-") => -1,
        (false, _) => 1,
    };
    Some((sign, int, frac))
}

/// Exact comparison of two plain decimals on their digit strings: the longer integer part is larger, then
/// digits compare left to right (fractions without trailing zeros compare as strings).
fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let parse = |t| plain_decimal(t).unwrap_or_else(|| panic!("reference: `{t}` is not a plain decimal"));
    let ((sa, ia, fa), (sb, ib, fb)) = (parse(a), parse(b));
    sa.cmp(&sb).then_with(|| {
        let magnitude = ia.len().cmp(&ib.len()).then_with(|| ia.cmp(ib)).then_with(|| fa.cmp(fb));
        if sa < 0 { magnitude.reverse() } else { magnitude }
    })
}

/// What [`FILTER_PATTERN`] extracts from `tag` (`None`: filtered out), or the tag itself without a filter.
fn filter_value<'t>(case: &Case, tag: &'t str) -> Option<&'t str> {
    if !case.is_filtered() {
        return Some(tag);
    }
    tag.strip_prefix("a-").or_else(|| tag.strip_prefix("b-")).filter(|rest| !rest.is_empty())
}

/// The spec's pipeline before ranking: exclusion, filter, then one candidate per value, the smallest tag.
/// Returns (value, tag) pairs.
fn reference_candidates(case: &Case) -> BTreeMap<&str, &str> {
    let mut candidates: BTreeMap<&str, &str> = BTreeMap::new();
    for tag in case.tags.iter().filter(|t| !is_excluded(t)) {
        if let Some(value) = filter_value(case, tag) {
            let kept = candidates.entry(value).or_insert(tag);
            *kept = (*kept).min(tag.as_str());
        }
    }
    candidates
}

/// Whether an alphabetical or numerical case picks the smallest value (`asc`, `""` and none pick the greatest).
fn is_desc(case: &Case) -> bool {
    match &case.spec.rule {
        RuleSpec::Alphabetical { order } | RuleSpec::Numerical { order } => order.as_deref() == Some("desc"),
        RuleSpec::Semver { .. } => false,
    }
}

/// Whether `(value, tag)` ranks above `(other_value, other_tag)`: by value in the policy's order, equal values
/// going to the lexicographically greatest tag.
fn ranks_above(case: &Case, (value, tag): (&str, &str), (other_value, other_tag): (&str, &str)) -> bool {
    let by_value = match case.spec.rule {
        RuleSpec::Numerical { .. } => cmp_decimal(value, other_value),
        _ => value.cmp(other_value),
    };
    let by_value = if is_desc(case) { by_value.reverse() } else { by_value };
    by_value.then_with(|| tag.cmp(other_tag)).is_gt()
}

/// (e) The analogues of (b)–(d) for an ordered rule: failures as the spec says, else the winner is a
/// candidate (it survives exclusion and filter, represents its value, and is a number for `numerical`) and
/// no candidate ranks above it.
fn assert_extreme_winner(kind: Kind) {
    let runs = ordered_runs(kind);
    let mut coverage = Coverage::default();
    for (case, _, outcome) in runs.iter() {
        let candidates = reference_candidates(case);
        let survivors: BTreeSet<&str> = case
            .tags
            .iter()
            .map(String::as_str)
            .filter(|t| !is_excluded(t) && filter_value(case, t).is_some())
            .collect();
        coverage.count("filterTags", case.is_filtered());
        coverage.count("desc", is_desc(case));
        coverage.count("different tags extracting one value", survivors.len() > candidates.len());
        if candidates.is_empty() {
            assert_eq!(outcome, Err(&SelectError::NoTags), "no tag survives exclusion and filter\n{case}");
            continue;
        }
        if kind == Kind::Numerical {
            let bad = candidates.iter().filter(|(v, _)| plain_decimal(v).is_none()).map(|(_, t)| *t).min();
            coverage.count("NotANumber", bad.is_some());
            if let Some(tag) = bad {
                let expected = SelectError::NotANumber { tag: tag.to_owned() };
                assert_eq!(outcome, Err(&expected), "`{tag}` is the smallest tag whose value is not a number\n{case}");
                continue;
            }
        }
        let winner = outcome.unwrap_or_else(|e| panic!("{} candidates, yet `{e}`\n{case}", candidates.len()));
        let tie = assert_no_candidate_ranks_above(case, &candidates, winner);
        if kind == Kind::Numerical {
            coverage.count("equal numbers spelled differently", tie);
        }
    }
    coverage.assert_reached(runs.len());
}

/// The core of (e): `winner` is a candidate and none ranks above it. Returns whether another candidate has an
/// equal rank (only possible for numbers).
fn assert_no_candidate_ranks_above(case: &Case, candidates: &BTreeMap<&str, &str>, winner: &str) -> bool {
    let value = filter_value(case, winner).unwrap_or_else(|| panic!("the winner `{winner}` fails the filter\n{case}"));
    assert!(!is_excluded(winner), "the winner `{winner}` matches the default exclusion `^.*\\.sig$`\n{case}");
    let represented = candidates.get(value);
    assert_eq!(represented, Some(&winner), "the winner `{winner}` does not represent its value `{value}`\n{case}");
    let numerical = matches!(case.spec.rule, RuleSpec::Numerical { .. });
    let mut tie = false;
    for (&other_value, &other_tag) in candidates {
        assert!(
            !ranks_above(case, (other_value, other_tag), (value, winner)),
            "`{other_tag}` (value `{other_value}`) ranks above the winner `{winner}` (value `{value}`)\n{case}"
        );
        tie |= numerical && other_tag != winner && cmp_decimal(other_value, value).is_eq();
    }
    tie
}

/// (e) The alphabetical analogue of (a).
#[test]
fn alphabetical_selection_ignores_input_order() {
    assert_order_independent(ordered_runs(Kind::Alphabetical));
}

/// (e) The alphabetical analogue of (b)–(d): byte order, `asc` the greatest, `desc` the smallest.
#[test]
fn alphabetical_winner_is_the_extreme_value() {
    assert_extreme_winner(Kind::Alphabetical);
}

/// (e) The numerical analogue of (a).
#[test]
fn numerical_selection_ignores_input_order() {
    assert_order_independent(ordered_runs(Kind::Numerical));
}

/// (e) The numerical analogue of (b)–(d): exact decimal order, and `NotANumber` naming the smallest bad tag.
#[test]
fn numerical_winner_is_the_extreme_number() {
    assert_extreme_winner(Kind::Numerical);
}

// ---------------------------------------------------------------------------------------------------------
// The explain path
// ---------------------------------------------------------------------------------------------------------

/// (f) `evaluate` agrees with `select`, reports every tag in input order, marks exactly the selected tag
/// `Selected` (none when selection fails), and every `Lost` tag names that winner.
fn assert_evaluate_agrees(runs: &Runs) {
    for (case, policy, selected) in runs.iter() {
        let evaluation = policy.evaluate(&case.tags);
        assert_eq!(evaluation.outcome.as_ref().copied(), selected, "`evaluate` and `select` disagree\n{case}");
        let reported: Vec<&str> = evaluation.reports.iter().map(|r| r.tag).collect();
        assert_eq!(reported, case.tags, "the reports are not the tags in input order\n{case}");
        let marked: Vec<&str> =
            evaluation.reports.iter().filter(|r| matches!(r.fate, TagFate::Selected { .. })).map(|r| r.tag).collect();
        match selected {
            Ok(winner) => assert_eq!(marked, [winner], "`select` returns `{winner}`\n{case}"),
            Err(e) => {
                assert!(marked.is_empty(), "`select` fails with `{e}`, yet {marked:?} are marked selected\n{case}")
            }
        }
        for report in &evaluation.reports {
            if let TagFate::Lost { winner, .. } = report.fate {
                assert_eq!(Ok(winner), selected, "`{}` lost to `{winner}`, not to the selection\n{case}", report.tag);
            }
        }
    }
}

/// (f) For semver, alphabetical and numerical cases alike.
#[test]
fn evaluate_selects_exactly_what_select_returns() {
    assert_evaluate_agrees(semver_runs());
    assert_evaluate_agrees(ordered_runs(Kind::Alphabetical));
    assert_evaluate_agrees(ordered_runs(Kind::Numerical));
}
