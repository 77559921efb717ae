//! [`TagPolicy`]: a compiled policy and the per-tag pipeline that applies it.

use super::error::{InvalidPolicy, SelectError};
use super::fate::{Evaluation, TagFate, TagReport};
use super::filter::{ExclusionList, TagFilter};
use super::rule::{Candidate, Rule};
use super::spec::PolicySpec;
use std::borrow::Cow;

/// A validated policy, ready to pick a tag from a list.
///
/// ```
/// # use imgpolicy::policy::{PolicySpec, RuleSpec, TagPolicy};
/// let spec = PolicySpec::new(RuleSpec::Semver { range: "1.0.x".into() });
/// let policy = TagPolicy::compile(&spec)?;
/// let tags = ["1.0.0", "1.0.1", "1.2.0", "1.0.1.sig"].map(String::from);
/// assert_eq!(policy.select(&tags)?, "1.0.1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TagPolicy {
    rule: Rule,
    filter: Option<TagFilter>,
    exclusion: ExclusionList,
}

impl TagPolicy {
    /// Validates every field of `spec`; the error names the first bad field.
    pub fn compile(spec: &PolicySpec) -> Result<Self, InvalidPolicy> {
        Ok(Self {
            rule: Rule::compile(&spec.rule)?,
            filter: TagFilter::compile(spec.filter_pattern.as_deref(), spec.filter_extract.as_deref())?,
            exclusion: ExclusionList::compile(spec.exclusion_list.as_deref())?,
        })
    }

    /// Picks a tag from `tags` and returns it as given.
    ///
    /// Errors: [`SelectError::NoTags`] when exclusion and filter leave
    /// nothing, [`SelectError::NoMatch`] when no version satisfies a semver
    /// range, [`SelectError::NotANumber`] when a numerical candidate is not a
    /// number. The result does not depend on the order of `tags`.
    pub fn select<'t>(&self, tags: &'t [String]) -> Result<&'t str, SelectError> {
        self.evaluate(tags).outcome
    }

    /// Like [`TagPolicy::select`], but also reports the fate of every tag.
    ///
    /// Pipeline: tags matching the exclusion list are dropped; then tags the
    /// filter pattern does not match; the rest are mapped to the value to
    /// rank (the extract, else the tag); tags sharing a value are represented
    /// by the lexicographically smallest; the rule then ranks the values.
    pub fn evaluate<'t>(&self, tags: &'t [String]) -> Evaluation<'t> {
        let mut fates: Vec<(usize, TagFate<'t>)> = Vec::with_capacity(tags.len());
        let mut survivors = Vec::new();
        for (index, tag) in tags.iter().enumerate() {
            if let Some(pattern) = self.exclusion.excluding(tag) {
                let pattern = pattern.to_owned();
                fates.push((index, TagFate::Excluded { pattern }));
                continue;
            }
            let value = match &self.filter {
                None => Cow::Borrowed(tag.as_str()),
                Some(filter) => match filter.apply(tag) {
                    Some(value) => value,
                    None => {
                        fates.push((index, TagFate::FilterMismatch));
                        continue;
                    }
                },
            };
            survivors.push(Candidate { index, tag, value });
        }

        // Sorting by (value, tag) makes everything below independent of the
        // input order, and puts the tag kept for a shared value first.
        survivors.sort_by(|a, b| (&a.value, a.tag, a.index).cmp(&(&b.value, b.tag, b.index)));
        let mut candidates: Vec<Candidate<'t>> = Vec::with_capacity(survivors.len());
        for c in survivors {
            match candidates.last() {
                Some(kept) if kept.value == c.value => {
                    let kept = kept.tag;
                    fates.push((c.index, TagFate::Duplicate { value: c.value, kept }));
                }
                _ => candidates.push(c),
            }
        }

        let outcome = if candidates.is_empty() {
            Err(SelectError::NoTags)
        } else {
            let ranking = self.rule.rank(&candidates);
            let winner = ranking.winner.map(|pos| &candidates[pos]);
            for (c, rejected) in candidates.iter().zip(ranking.rejected) {
                let value = c.value.clone();
                let fate = match (rejected, &winner) {
                    (Some(fate), _) => fate,
                    (None, Ok(w)) if w.index == c.index => TagFate::Selected { value },
                    (None, Ok(w)) => TagFate::Lost { value, winner: w.tag },
                    (None, Err(_)) => TagFate::Eligible { value },
                };
                fates.push((c.index, fate));
            }
            winner.map(|w| w.tag)
        };

        fates.sort_by_key(|(index, _)| *index);
        Evaluation {
            reports: fates.into_iter().map(|(index, fate)| TagReport { tag: tags[index].as_str(), fate }).collect(),
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::RuleSpec;
    use super::*;

    fn semver(range: &str) -> RuleSpec {
        RuleSpec::Semver { range: range.to_owned() }
    }

    fn alphabetical(order: &str) -> RuleSpec {
        RuleSpec::Alphabetical { order: Some(order.to_owned()) }
    }

    fn numerical(order: &str) -> RuleSpec {
        RuleSpec::Numerical { order: Some(order.to_owned()) }
    }

    fn with_filter(rule: RuleSpec, pattern: &str, extract: &str) -> PolicySpec {
        PolicySpec {
            filter_pattern: Some(pattern.to_owned()),
            filter_extract: Some(extract.to_owned()),
            ..PolicySpec::new(rule)
        }
    }

    /// Runs `spec` on `tags`, forwards and reversed, and checks both agree.
    fn run(spec: &PolicySpec, tags: &[&str]) -> Result<String, SelectError> {
        let policy = TagPolicy::compile(spec).unwrap_or_else(|e| panic!("{e}"));
        let forward: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let a = policy.select(&forward).map(str::to_owned);
        let b = policy.select(&backward).map(str::to_owned);
        assert_eq!(a, b, "selection depends on input order");
        a
    }

    macro_rules! select {
        ($($name:ident: $spec:expr, [$($tag:expr),* $(,)?] => $expected:expr,)*) => {$(
            #[test]
            fn $name() {
                let expected: Result<&str, SelectError> = $expected;
                assert_eq!(run(&$spec, &[$($tag),*]), expected.map(str::to_owned));
            }
        )*};
    }

    fn plain(rule: RuleSpec) -> PolicySpec {
        PolicySpec::new(rule)
    }

    fn not_a_number(tag: &str) -> SelectError {
        SelectError::NotANumber { tag: tag.to_owned() }
    }

    // "Some public vectors" of flux-policy-semantics.md.
    select! {
        spec_semver_1_0_x: plain(semver("1.0.x")),
            ["1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0", "0.1.0"] => Ok("1.0.1"),
        spec_semver_v_prefix: plain(semver("1.0.x")), ["v1.2.3", "v1.0.0", "v0.1.0"] => Ok("v1.0.0"),
        spec_alpha_asc: plain(alphabetical("asc")),
            ["16.04", "16.04.1", "16.10", "20.04", "20.10"] => Ok("20.10"),
        spec_alpha_desc: plain(alphabetical("desc")),
            ["16.04", "16.04.1", "16.10", "20.04", "20.10"] => Ok("16.04"),
        spec_semver_pre_excluded: plain(semver("1.0.x")),
            ["0.1.0", "0.1.1", "0.2.0", "1.0.0", "1.0.1", "1.0.2", "1.1.0-alpha"] => Ok("1.0.2"),
        spec_filter_semver: with_filter(semver(">=0.x"), "^test-(.*)$", "$1"),
            ["test-0.1.0", "test-0.1.1", "dev-0.2.0", "1.0.0"] => Ok("test-0.1.1"),
        spec_filter_numerical: with_filter(numerical("asc"), r"1.0.0-rc\.(?P<num>[0-9]+)", "$num"),
            ["1.0.0", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.3", "1.0.1-rc.2"] => Ok("1.0.0-rc.3"),
        spec_filter_alpha: with_filter(alphabetical(""), "foo-(?P<word>[a-z]+)", "$word"),
            ["foo-aaa", "bar-bbb", "foo-zzz", "baz-nnn"] => Ok("foo-zzz"),
        spec_numerical_error: plain(numerical("asc")), ["0", "1a", "b"] => Err(not_a_number("1a")),
        spec_release_only: plain(semver(">=1.0.0")), ["1.0.0", "2.0.0-rc.1", "1.5.0"] => Ok("1.5.0"),
        spec_prerelease_opt_in: plain(semver(">=1.0.0-0")),
            ["1.0.0", "2.0.0-rc.1", "1.5.0"] => Ok("2.0.0-rc.1"),
    }

    // fluxcd/image-reflector-controller internal/policy/semver_test.go
    // `TestSemVer_Latest`.
    select! {
        flux_semver_invalid_prefix: plain(semver("1.0.x")), ["b1.2.3", "b1.0.0", "b0.1.0"] => Err(SelectError::NoMatch),
        flux_semver_empty: plain(semver("1.0.x")), [] => Err(SelectError::NoTags),
        flux_semver_non_matching: plain(semver("1.0.x")), ["1.2.0"] => Err(SelectError::NoMatch),
    }

    // fluxcd/image-reflector-controller internal/policy/numerical_test.go
    // `TestNumerical_Latest` (inputs are shuffled upstream; `run` checks both
    // orders here).
    select! {
        flux_num_ints_asc: plain(numerical("")),
            ["-62", "-88", "73", "72", "15", "16", "15", "29", "-33", "-91"] => Ok("73"),
        flux_num_ints_desc: plain(numerical("desc")),
            ["5", "-8", "-78", "25", "70", "-4", "80", "92", "-20", "-24"] => Ok("-78"),
        flux_num_floats_asc: plain(numerical("asc")),
            ["47.40896403322944", "-27.8520927455902", "-27.930666514224427", "-31.352485948094568",
             "-50.41072694704882", "-21.962849842263736", "24.71884721436865", "-39.99177354004344",
             "53.47333823144817", "3.2008658570411086"] => Ok("53.47333823144817"),
        flux_num_floats_desc: plain(numerical("desc")),
            ["-65.27202780220686", "57.82948329142309", "22.40184684363291", "-86.36934305697784",
             "-90.29082099756083", "-12.041712603564264", "77.70488240399305", "-38.98425003883552",
             "16.06867070412028", "53.735674335181216"] => Ok("-90.29082099756083"),
        flux_num_unix_asc: plain(numerical("asc")),
            ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"] => Ok("1606364286"),
        flux_num_unix_desc: plain(numerical("desc")),
            ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"] => Ok("1606234201"),
        flux_num_single_asc: plain(numerical("asc")), ["1"] => Ok("1"),
        flux_num_single_desc: plain(numerical("desc")), ["1"] => Ok("1"),
        flux_num_empty: plain(numerical("asc")), [] => Err(SelectError::NoTags),
    }

    // fluxcd/image-reflector-controller internal/policy/alphabetical_test.go
    // `TestAlphabetical_Latest`.
    select! {
        flux_alpha_calver_asc: plain(alphabetical("")),
            ["16.04", "16.04.1", "16.10", "20.04", "20.10"] => Ok("20.10"),
        flux_alpha_calver_desc: plain(alphabetical("desc")),
            ["16.04", "16.04.1", "16.10", "20.04", "20.10"] => Ok("16.04"),
        flux_alpha_code_names: plain(alphabetical("asc")),
            ["xenial", "yakkety", "zesty", "artful", "bionic"] => Ok("zesty"),
        flux_alpha_code_names_desc: plain(alphabetical("desc")),
            ["xenial", "yakkety", "zesty", "artful", "bionic"] => Ok("artful"),
        flux_alpha_timestamps: plain(alphabetical("asc")),
            ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"] => Ok("1606364286"),
        flux_alpha_timestamps_desc: plain(alphabetical("desc")),
            ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"] => Ok("1606234201"),
        flux_alpha_timestamps_prefix: plain(alphabetical("asc")),
            ["rel-1606234201", "rel-1606364286", "rel-1606334092", "rel-1606334284", "rel-1606334201"]
            => Ok("rel-1606364286"),
        flux_alpha_empty: plain(alphabetical("asc")), [] => Err(SelectError::NoTags),
    }

    // fluxcd/image-reflector-controller internal/policy/filter_test.go
    // `TestRegexFilter`: which tags survive, seen through alphabetical desc
    // (smallest survivor) and asc (greatest survivor).
    select! {
        flux_filter_pattern_smallest: with_filter(alphabetical("desc"), "^ver", ""),
            ["ver1", "ver2", "ver3", "rel1"] => Ok("ver1"),
        flux_filter_capture_greatest: with_filter(numerical("asc"), r"ver(\d+)", "$1"),
            ["ver1", "ver2", "ver3", "rel1"] => Ok("ver3"),
        flux_filter_capture_smallest: with_filter(numerical("desc"), r"ver(\d+)", "$1"),
            ["ver1", "ver2", "ver3", "rel1"] => Ok("ver1"),
    }

    // This project's rules: deterministic ties, exact numbers, exclusion.
    select! {
        tie_greatest_string: plain(semver(">=1.0.0")), ["1.0.0", "v1.0.0", "1.0.0+b"] => Ok("v1.0.0"),
        tie_build_metadata: plain(semver("1.x")), ["1.0.0+a", "1.0.0+b", "0.9.0"] => Ok("1.0.0+b"),
        tie_leading_zero: plain(semver("*")), ["2025.07.03", "2025.7.3"] => Ok("2025.7.3"),
        // Under a filter too, equal ranks go to the greatest tag, not the greatest value.
        tie_filtered_semver_greatest_tag: with_filter(semver("*"), "^[ab]-(.*)$", "$1"),
            ["a-v1.0.0", "b-1.0.0"] => Ok("b-1.0.0"),
        tie_filtered_numerical_greatest_tag: with_filter(numerical("asc"), "^[ab]-(.*)$", "$1"),
            ["a-10", "b-010"] => Ok("b-010"),
        exact_above_2_pow_53: plain(numerical("asc")), ["9007199254740992", "9007199254740993"] => Ok("9007199254740993"),
        exact_long: plain(numerical("desc")),
            ["100000000000000000000000000001", "100000000000000000000000000000"] => Ok("100000000000000000000000000000"),
        numeric_decimal_forms: plain(numerical("asc")), ["+2.50", "1e3", "-1", "999.9"] => Ok("1e3"),
        numeric_equal_values_greatest_string: plain(numerical("asc")), ["2.5", "2.50", "1"] => Ok("2.50"),
        numeric_smallest_bad_tag: plain(numerical("asc")), ["b", "1a", "3"] => Err(not_a_number("1a")),
        default_exclusion: plain(alphabetical("asc")), ["sha256-abc.sig", "1.0.0"] => Ok("1.0.0"),
        only_signatures: plain(alphabetical("asc")), ["a.sig", "b.sig"] => Err(SelectError::NoTags),
        filter_drops_all: with_filter(alphabetical("asc"), "^main-", ""), ["dev-1"] => Err(SelectError::NoTags),
        filter_without_extract: with_filter(semver("*"), "^v", ""), ["v1.0.0", "2.0.0"] => Ok("v1.0.0"),
        duplicate_extract_smallest_original: with_filter(alphabetical("asc"), r"^(?:a|b)-(\d+)$", "$1"),
            ["b-9", "a-9", "a-1"] => Ok("a-9"),
        timestamp_extract: with_filter(numerical("asc"), r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "$ts"),
            ["main-abc123-1700000000", "main-def456-1800000000", "main-0a-1750000000", "pr-1-1900000000"]
            => Ok("main-def456-1800000000"),
        semver_extract_numeric_not_version: with_filter(semver("*"), r"^r(\d+)$", "$1"), ["r1", "r2"] => Err(SelectError::NoMatch),
        two_part_tags_are_not_versions: plain(semver(">=1")), ["1.2", "v1", "1.2.3.4", "V1.2.3", "latest"] => Err(SelectError::NoMatch),
        two_part_with_pre_is_version: plain(semver(">=1.2.0-0")), ["1.2-rc.1", "1.1.9"] => Ok("1.2-rc.1"),
    }

    #[test]
    fn custom_exclusion_replaces_default() {
        let spec = PolicySpec { exclusion_list: Some(vec!["^dev-".to_owned()]), ..plain(alphabetical("asc")) };
        assert_eq!(run(&spec, &["z.sig", "dev-z", "a"]), Ok("z.sig".to_owned()));
    }

    #[test]
    fn compile_errors_name_the_field() {
        let err = |spec: PolicySpec| TagPolicy::compile(&spec).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            err(plain(semver(">=1.0.0 <"))),
            Err("policy.semver.range: invalid semver range `>=1.0.0 <`: `<` is not followed by a version at byte 8"
                .to_owned())
        );
        assert_eq!(
            err(plain(numerical("up"))),
            Err("policy.numerical.order: invalid order `up`: must be `asc` or `desc`".to_owned())
        );
        assert_eq!(
            err(plain(alphabetical("DESC"))),
            Err("policy.alphabetical.order: invalid order `DESC`: must be `asc` or `desc`".to_owned())
        );
        assert_eq!(
            err(with_filter(semver("*"), "(", "")),
            Err("filterTags.pattern: invalid regular expression `(`: unclosed group".to_owned())
        );
        let bad_exclusion = PolicySpec { exclusion_list: Some(vec!["[".to_owned()]), ..plain(semver("*")) };
        assert_eq!(TagPolicy::compile(&bad_exclusion).map(|_| ()).map_err(|e| e.field), Err("exclusionList"));
        let none_order = plain(RuleSpec::Numerical { order: None });
        assert!(TagPolicy::compile(&none_order).is_ok());
    }

    #[test]
    fn evaluate_reports_every_fate() {
        let spec = PolicySpec {
            filter_pattern: Some(r"^(?:v|x)?(.*)$".to_owned()),
            filter_extract: Some("$1".to_owned()),
            exclusion_list: Some(vec![r"\.sig$".to_owned(), "^skip".to_owned()]),
            ..plain(semver(">=1.0.0 <2.0.0"))
        };
        let policy = TagPolicy::compile(&spec).unwrap_or_else(|e| panic!("{e}"));
        let tags: Vec<String> = ["1.5.0", "v1.5.0", "x1.2.0", "1.9.0-rc.1", "3.0.0", "latest", "a.sig", "skip-1"]
            .map(String::from)
            .to_vec();
        let eval = policy.evaluate(&tags);
        let fates: Vec<String> = eval.reports.iter().map(|r| format!("{}: {}", r.tag, r.fate)).collect();
        assert_eq!(
            fates,
            [
                "1.5.0: selected as `1.5.0`",
                "v1.5.0: extracted `1.5.0`, already extracted by `1.5.0`",
                "x1.2.0: `1.2.0` lost to `1.5.0`",
                "1.9.0-rc.1: version `1.9.0-rc.1`: prerelease versions are not admitted by the range",
                "3.0.0: version `3.0.0`: outside the range: fails `<2.0.0`",
                "latest: not a version: invalid version `latest`: a tag needs two `.` separators to be a version",
                r"a.sig: excluded by `\.sig$`",
                "skip-1: excluded by `^skip`",
            ]
        );
        assert_eq!(eval.outcome, Ok("1.5.0"));
    }

    #[test]
    fn evaluate_marks_eligible_when_numerical_fails() {
        let policy = TagPolicy::compile(&plain(numerical("asc"))).unwrap_or_else(|e| panic!("{e}"));
        let tags = ["7".to_owned(), "x".to_owned()];
        let eval = policy.evaluate(&tags);
        assert_eq!(
            eval.reports.iter().map(|r| r.fate.to_string()).collect::<Vec<_>>(),
            ["eligible as `7`", "`x` is not a number"]
        );
        assert_eq!(eval.outcome, Err(not_a_number("x")));
    }
}
