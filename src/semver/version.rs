//! One semantic version: parsing (Flux's tag rule and Masterminds' lenient
//! `NewVersion`) and SemVer 2.0 precedence.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A semantic version as Masterminds/semver v3.4 models it.
///
/// Equality and ordering are SemVer 2.0 *precedence*: build metadata is
/// ignored, so `1.0.0`, `v1.0.0` and `1.0.0+b` compare equal. Use
/// [`Version::original`] to tell them apart.
///
/// ```
/// # use imgpolicy::semver::Version;
/// let v = Version::parse("v2025.07.03-rc.1")?;
/// assert_eq!((v.major(), v.minor(), v.patch()), (2025, 7, 3));
/// assert_eq!(v.prerelease(), "rc.1");
/// assert_eq!(v.original(), "v2025.07.03-rc.1");
/// assert!(Version::parse("1.2").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    build: String,
    original: String,
}

/// Why a string is not a [`Version`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version `{input}`: {kind}")]
pub struct ParseVersionError {
    input: String,
    kind: VersionErrorKind,
}

/// The specific problem found by [`Version::parse`] or [`Version::parse_lenient`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionErrorKind {
    /// Flux only treats a tag as a version when splitting it on `.` into at
    /// most three pieces gives exactly three.
    #[error("a tag needs two `.` separators to be a version")]
    NotThreeParts,
    /// The text does not have the shape `v?N(.N(.N)?)?(-pre)?(+build)?`.
    #[error("unexpected {found} at byte {offset}")]
    Malformed {
        /// Byte offset of the first character that does not fit.
        offset: usize,
        /// The offending character in backticks, or `end of input`.
        found: String,
    },
    /// A numeric component does not fit in 64 bits.
    #[error("component `{0}` does not fit in 64 bits")]
    Overflow(String),
    /// A numeric prerelease identifier has a leading zero (`1.2.3-rc.01`).
    #[error("numeric prerelease identifier `{0}` has a leading zero")]
    LeadingZero(String),
}

impl ParseVersionError {
    fn new(input: &str, kind: VersionErrorKind) -> Self {
        Self { input: input.to_owned(), kind }
    }

    /// The specific problem.
    pub fn kind(&self) -> &VersionErrorKind {
        &self.kind
    }
}

impl Version {
    /// Parses an image tag the way Flux >= 2.7 does (`fluxcd/pkg`
    /// `version.ParseVersion`).
    ///
    /// The tag must split on `.` into exactly three pieces (at most three
    /// splits), and then be accepted by [`Version::parse_lenient`]. So `1.2`,
    /// `v1` and `1.2.3.4` are rejected, while `1.2-rc.1` (three pieces: `1`,
    /// `2-rc`, `1`) is accepted as `1.2.0-rc.1`.
    pub fn parse(tag: &str) -> Result<Self, ParseVersionError> {
        if tag.splitn(3, '.').count() != 3 {
            return Err(ParseVersionError::new(tag, VersionErrorKind::NotThreeParts));
        }
        Self::parse_lenient(tag)
    }

    /// Parses like Masterminds' `NewVersion` (coercing mode, the default).
    ///
    /// Accepts an optional lowercase `v`, one to three numeric components
    /// (missing ones are 0, leading zeros are allowed), then an optional
    /// prerelease and build metadata. Numeric prerelease identifiers must not
    /// have leading zeros.
    pub fn parse_lenient(input: &str) -> Result<Self, ParseVersionError> {
        let shape = Shape::scan(input).map_err(|offset| {
            let found = match input[offset..].chars().next() {
                Some(c) => format!("`{c}`"),
                None => "end of input".to_owned(),
            };
            ParseVersionError::new(input, VersionErrorKind::Malformed { offset, found })
        })?;
        let number = |s: Option<&str>| -> Result<u64, ParseVersionError> {
            match s {
                None => Ok(0),
                Some(s) => s
                    .parse::<u64>()
                    .map_err(|_| ParseVersionError::new(input, VersionErrorKind::Overflow(s.to_owned()))),
            }
        };
        let major = number(Some(shape.major))?;
        let minor = number(shape.minor)?;
        let patch = number(shape.patch)?;
        let pre = shape.pre.unwrap_or_default();
        if let Some(id) = pre.split('.').find(|id| has_leading_zero(id)) {
            return Err(ParseVersionError::new(input, VersionErrorKind::LeadingZero(id.to_owned())));
        }
        Ok(Self {
            major,
            minor,
            patch,
            pre: pre.to_owned(),
            build: shape.build.unwrap_or_default().to_owned(),
            original: input.to_owned(),
        })
    }

    /// The major component.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor component (0 when it was omitted).
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch component (0 when it was omitted).
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease without its `-`, or `""`.
    pub fn prerelease(&self) -> &str {
        &self.pre
    }

    /// The build metadata without its `+`, or `""`.
    pub fn build(&self) -> &str {
        &self.build
    }

    /// Whether the version has a prerelease.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The exact text that was parsed (with its `v`, leading zeros and metadata).
    pub fn original(&self) -> &str {
        &self.original
    }
}

impl fmt::Display for Version {
    /// The normalised form: no `v`, no leading zeros, missing parts filled in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = ParseVersionError;

    /// Same as [`Version::parse`] (Flux's tag rule).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// SemVer 2.0 precedence, as Masterminds' `Version.Compare`.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            }
        })
    }
}

/// Compares two prerelease strings identifier by identifier (Masterminds'
/// `comparePrerelease`): a missing identifier sorts first, numbers sort before
/// alphanumerics, numbers compare numerically and the rest byte-wise.
pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (l, r) => {
                let d = compare_identifier(l.unwrap_or(""), r.unwrap_or(""));
                if d != Ordering::Equal {
                    return d;
                }
            }
        }
    }
}

fn compare_identifier(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (as_number(s), as_number(o)) {
        (Some(a), Some(b)) => a.cmp(&b).then_with(|| s.cmp(o)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => s.cmp(o),
    }
}

/// Go's `strconv.ParseUint(s, 10, 64)`: ASCII digits only, must fit in u64.
fn as_number(s: &str) -> Option<u64> {
    if s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
}

fn has_leading_zero(id: &str) -> bool {
    id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit())
}

/// The pieces of `^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-ids)?(\+ids)?$`, the
/// loose regex of Masterminds v3.4.
struct Shape<'a> {
    major: &'a str,
    minor: Option<&'a str>,
    patch: Option<&'a str>,
    pre: Option<&'a str>,
    build: Option<&'a str>,
}

impl<'a> Shape<'a> {
    /// Scans `input`; the error is the byte offset of the first misfit.
    fn scan(input: &'a str) -> Result<Self, usize> {
        let b = input.as_bytes();
        let mut i = usize::from(b.first() == Some(&b'v'));
        let major = digits(input, i).ok_or(i)?;
        i += major.len();
        let mut minor = None;
        let mut patch = None;
        if b.get(i) == Some(&b'.') {
            let m = digits(input, i + 1).ok_or(i + 1)?;
            i += 1 + m.len();
            minor = Some(m);
            if b.get(i) == Some(&b'.') {
                let p = digits(input, i + 1).ok_or(i + 1)?;
                i += 1 + p.len();
                patch = Some(p);
            }
        }
        let mut pre = None;
        if b.get(i) == Some(&b'-') {
            let end = identifiers_end(input, i + 1)?;
            pre = Some(&input[i + 1..end]);
            i = end;
        }
        let mut build = None;
        if b.get(i) == Some(&b'+') {
            let end = identifiers_end(input, i + 1)?;
            build = Some(&input[i + 1..end]);
            i = end;
        }
        if i != b.len() {
            return Err(i);
        }
        Ok(Self { major, minor, patch, pre, build })
    }
}

/// The run of ASCII digits at `start`, if non-empty.
fn digits(s: &str, start: usize) -> Option<&str> {
    let len = s.get(start..)?.bytes().take_while(u8::is_ascii_digit).count();
    (len > 0).then(|| &s[start..start + len])
}

/// Whether `b` may appear in a prerelease or build identifier.
pub(crate) fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// End of `[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*` starting at `start`. Every
/// identifier must be non-empty; the error is the offset where one is missing.
fn identifiers_end(s: &str, start: usize) -> Result<usize, usize> {
    let b = s.as_bytes();
    let mut i = start;
    loop {
        let id_start = i;
        while i < b.len() && is_identifier_byte(b[i]) {
            i += 1;
        }
        if i == id_start {
            return Err(i);
        }
        if b.get(i) != Some(&b'.') {
            return Ok(i);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test per row: does Flux's tag parser accept it, and as what?
    macro_rules! flux_parse {
        ($($name:ident: $input:expr => $expected:expr,)*) => {$(
            #[test]
            fn $name() {
                let got = Version::parse($input).map(|v| v.to_string()).ok();
                let expected: Option<&str> = $expected;
                assert_eq!(got.as_deref(), expected, "input {:?}", $input);
            }
        )*};
    }

    // Rows from flux-policy-semantics.md and fluxcd/pkg version/version_test.go
    // (`TestParseVersion`).
    flux_parse! {
        flux_plain: "1.2.3" => Some("1.2.3"),
        flux_v_prefix: "v1.2.3" => Some("1.2.3"),
        flux_leading_zeros: "v2025.07.03" => Some("2025.7.3"),
        flux_two_parts: "v1.0" => None,
        flux_one_part: "v1" => None,
        flux_beta_patch: "v1.2.beta" => None,
        flux_two_parts_pre_numeric: "v1.2-5" => None,
        flux_two_parts_pre: "v1.2-beta5" => None,
        flux_leading_newline: "\nv1.2" => None,
        flux_pre_and_meta: "v1.2.0-x.Y.0+metadata" => Some("1.2.0-x.Y.0+metadata"),
        flux_meta_hyphen: "v1.2.0-x.Y.0+metadata-width-hypen" => Some("1.2.0-x.Y.0+metadata-width-hypen"),
        flux_pre_hyphen: "v1.2.3-rc1-with-hypen" => Some("1.2.3-rc1-with-hypen"),
        flux_four_parts: "v1.2.3.4" => None,
        spec_upper_v: "V1.2.3" => None,
        spec_latest: "latest" => None,
        spec_two_parts_dotted_pre: "1.2-rc.1" => Some("1.2.0-rc.1"),
        spec_pre_leading_zero: "1.2.3-rc.01" => None,
        spec_pre_alnum_leading_zero: "1.2.3-0abc" => Some("1.2.3-0abc"),
        spec_1_0_0p: "1.0.0p" => None,
        spec_empty: "" => None,
        u64_max: "18446744073709551615.0.0" => Some("18446744073709551615.0.0"),
        u64_overflow: "18446744073709551616.0.0" => None,
        meta_leading_zero_ok: "1.2.3+test.01" => Some("1.2.3+test.01"),
        pre_negative_like: "1.2.3-alpha.-1" => Some("1.2.3-alpha.-1"),
        empty_pre_ident: "1.2.3-a..b" => None,
        trailing_dot_pre: "1.2.3-a." => None,
        empty_meta: "1.2.3+" => None,
        date_tag_two_dots_in_pre: "1-2.3.4" => Some("1.0.0-2.3.4"),
        meta_only_two_parts: "1.2+build.1" => Some("1.2.0+build.1"),
    }

    macro_rules! lenient_parse {
        ($($name:ident: $input:expr => $ok:expr,)*) => {$(
            #[test]
            fn $name() {
                let got = Version::parse_lenient($input);
                assert_eq!(got.is_ok(), $ok, "input {:?}: {:?}", $input, got);
            }
        )*};
    }

    // Masterminds/semver version_test.go `TestNewVersion`.
    lenient_parse! {
        mm_plain: "1.2.3" => true,
        mm_pre_leading_zero: "1.2.3-alpha.01" => false,
        mm_meta_leading_zero: "1.2.3+test.01" => true,
        mm_pre_dash: "1.2.3-alpha.-1" => true,
        mm_v: "v1.2.3" => true,
        mm_two: "1.0" => true,
        mm_v_two: "v1.0" => true,
        mm_one: "1" => true,
        mm_v_one: "v1" => true,
        mm_beta_patch: "1.2.beta" => false,
        mm_foo: "foo" => false,
        mm_two_pre: "1.2-5" => true,
        mm_two_dotted_pre: "v1.2-beta.5" => true,
        mm_newline: "\n1.2" => false,
        mm_four: "1.2.3.4" => false,
        mm_big_patch: "1.2.2147483648" => true,
        mm_big_major: "2147483648.3.0" => true,
        mm_four_long: "12.3.4.1234" => false,
        mm_date_pre: "20221209-update-renovatejson-v4" => true,
    }

    macro_rules! compare {
        ($($name:ident: $a:expr, $b:expr => $ord:expr,)*) => {$(
            #[test]
            fn $name() -> Result<(), ParseVersionError> {
                let a = Version::parse_lenient($a)?;
                let b = Version::parse_lenient($b)?;
                assert_eq!(a.cmp(&b), $ord, "{} vs {}", $a, $b);
                assert_eq!(b.cmp(&a), $ord.reverse(), "{} vs {}", $b, $a);
                Ok(())
            }
        )*};
    }

    use Ordering::{Equal, Greater, Less};

    // Masterminds/semver version_test.go `TestCompare`, `TestGreaterThan`,
    // `TestEqual`, plus the spec's `rc10 < rc9`, `rc.10 > rc.9`.
    compare! {
        cmp_minor: "1.2.3", "1.5.1" => Less,
        cmp_major: "2.2.3", "1.5.1" => Greater,
        cmp_patch: "2.2.3", "2.2.2" => Greater,
        cmp_same_pre: "3.2-beta", "3.2-beta" => Equal,
        cmp_coerced: "1.3", "1.1.4" => Greater,
        cmp_release_over_pre: "4.2", "4.2-beta" => Greater,
        cmp_alpha_beta: "4.2-alpha", "4.2-beta" => Less,
        cmp_dotted_numeric: "4.2-beta.2", "4.2-beta.1" => Greater,
        cmp_alnum: "4.2-beta2", "4.2-beta1" => Greater,
        cmp_shorter_first: "4.2-beta", "4.2-beta.2" => Less,
        cmp_shorter_first_alpha: "4.2-beta", "4.2-beta.foo" => Less,
        cmp_build_ignored: "1.2+bar", "1.2+baz" => Equal,
        cmp_number_before_alnum: "1.0.0-beta.4", "1.0.0-beta.-2" => Less,
        cmp_dash_strings: "1.0.0-beta.-2", "1.0.0-beta.-3" => Less,
        cmp_dash_vs_number: "1.0.0-beta.-3", "1.0.0-beta.5" => Greater,
        cmp_snapshot_numeric: "7.43.0-SNAPSHOT.99", "7.43.0-SNAPSHOT.103" => Less,
        cmp_snapshot_alpha: "7.43.0-SNAPSHOT.FOO", "7.43.0-SNAPSHOT.103" => Greater,
        cmp_pre_meta_equal: "3.2-beta+foo", "3.2-beta+bar" => Equal,
        spec_rc10_lt_rc9: "1.0.0-rc10", "1.0.0-rc9" => Less,
        spec_rc_dot_10_gt_rc_dot_9: "1.0.0-rc.10", "1.0.0-rc.9" => Greater,
        spec_v_equal: "v1.0.0", "1.0.0+b" => Equal,
        leading_zero_equal: "v2025.07.03", "2025.7.3" => Equal,
    }

    #[test]
    fn error_messages_name_value_and_place() {
        let msg = |s| Version::parse(s).map_err(|e| e.to_string()).err();
        assert_eq!(
            msg("1.2").as_deref(),
            Some("invalid version `1.2`: a tag needs two `.` separators to be a version")
        );
        assert_eq!(msg("1.0.0p").as_deref(), Some("invalid version `1.0.0p`: unexpected `p` at byte 5"));
        assert_eq!(
            msg("1.2.3-rc.01").as_deref(),
            Some("invalid version `1.2.3-rc.01`: numeric prerelease identifier `01` has a leading zero")
        );
        assert_eq!(
            msg("1.2.99999999999999999999").as_deref(),
            Some(
                "invalid version `1.2.99999999999999999999`: component `99999999999999999999` does not fit in 64 bits"
            )
        );
        assert_eq!(msg("1.2.").as_deref(), Some("invalid version `1.2.`: unexpected end of input at byte 4"));
    }

    #[test]
    fn accessors_keep_original_and_parts() -> Result<(), ParseVersionError> {
        let v = Version::parse("v1.2.3-beta.1+build.123")?;
        assert_eq!((v.major(), v.minor(), v.patch(), v.prerelease(), v.build()), (1, 2, 3, "beta.1", "build.123"));
        assert_eq!(v.original(), "v1.2.3-beta.1+build.123");
        assert!(v.is_prerelease());
        Ok(())
    }
}
