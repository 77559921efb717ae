//! One comparison such as `>=1.2`, `~1.x` or `!=4.1.*`: its operator, the
//! version it names (with the wildcard flags Masterminds calls "dirty") and
//! the check, ported predicate by predicate from Masterminds v3.4
//! `constraints.go`.

use super::version::{Version, VersionErrorKind, compare_prerelease, is_identifier_byte};
use std::cmp::Ordering;

/// The operators of the Masterminds grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `=` or no operator: equality, or tilde when the version has wildcards.
    TildeOrEqual,
    /// `!=`.
    NotEqual,
    /// `>`.
    Greater,
    /// `<`.
    Less,
    /// `>=` or `=>`.
    GreaterEqual,
    /// `<=` or `=<`.
    LessEqual,
    /// `~` or `~>`.
    Tilde,
    /// `^`.
    Caret,
}

impl Op {
    /// Reads the operator at the start of `s`: its kind and length in bytes
    /// (0 when there is none, which means `=`).
    pub(crate) fn read(s: &str) -> (Self, usize) {
        // Two-byte operators first: no version starts with an operator byte,
        // so this picks the same alternative as Masterminds' regex.
        const OPS: [(&str, Op); 12] = [
            ("!=", Op::NotEqual),
            (">=", Op::GreaterEqual),
            ("=>", Op::GreaterEqual),
            ("<=", Op::LessEqual),
            ("=<", Op::LessEqual),
            ("~>", Op::Tilde),
            ("=", Op::TildeOrEqual),
            (">", Op::Greater),
            ("<", Op::Less),
            ("~", Op::Tilde),
            ("^", Op::Caret),
            ("", Op::TildeOrEqual),
        ];
        OPS.iter().find(|(text, _)| s.starts_with(text)).map_or((Op::TildeOrEqual, 0), |&(text, op)| (op, text.len()))
    }
}

/// Whether `b` is whitespace for Go's `\s`: `[\t\n\f\r ]`.
pub(crate) fn is_go_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Whether `b` may appear in a version segment of a constraint. The `|` is a
/// quirk of Masterminds' `[0-9|x|X|\*]` class, kept for fidelity.
fn is_segment_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*' | b'|')
}

/// The pieces of a constraint version (Masterminds' `cvRegex`), found by
/// [`scan_version`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConstraintVersion<'a> {
    /// Everything matched, `v` and metadata included.
    pub(crate) whole: &'a str,
    /// Byte offset just past the match.
    pub(crate) end: usize,
    major: &'a str,
    minor: Option<&'a str>,
    patch: Option<&'a str>,
    pre: Option<&'a str>,
}

/// Matches `v?SEG(\.SEG)?(\.SEG)?(-IDS)?(\+IDS)?` greedily at `start`, like
/// the regex would; `None` when not even a segment is there.
pub(crate) fn scan_version(s: &str, start: usize) -> Option<ConstraintVersion<'_>> {
    let b = s.as_bytes();
    let segment = |from: usize| {
        let len = b.get(from..).map_or(0, |rest| rest.iter().take_while(|&&c| is_segment_byte(c)).count());
        (len > 0).then(|| &s[from..from + len])
    };
    let mut i = start;
    if b.get(i) == Some(&b'v') && segment(i + 1).is_some() {
        i += 1;
    }
    let major = segment(i)?;
    i += major.len();
    let mut dotted = [None, None];
    for slot in &mut dotted {
        match (b.get(i), segment(i + 1)) {
            (Some(b'.'), Some(seg)) => {
                *slot = Some(seg);
                i += 1 + seg.len();
            }
            _ => break,
        }
    }
    let mut pre = None;
    if b.get(i) == Some(&b'-')
        && let Some(end) = identifiers(b, i + 1)
    {
        pre = Some(&s[i + 1..end]);
        i = end;
    }
    if b.get(i) == Some(&b'+')
        && let Some(end) = identifiers(b, i + 1)
    {
        i = end;
    }
    Some(ConstraintVersion { whole: &s[start..i], end: i, major, minor: dotted[0], patch: dotted[1], pre })
}

/// End of the longest `[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*` at `start`.
fn identifiers(b: &[u8], start: usize) -> Option<usize> {
    let run = |from: usize| b.get(from..).map_or(0, |r| r.iter().take_while(|&&c| is_identifier_byte(c)).count());
    let first = run(start);
    if first == 0 {
        return None;
    }
    let mut i = start + first;
    while b.get(i) == Some(&b'.') && run(i + 1) > 0 {
        i += 1 + run(i + 1);
    }
    Some(i)
}

fn is_wildcard(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// One parsed comparison.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    op: Op,
    /// Operator and version as written, without spaces (`>=1.2`).
    text: String,
    /// The version compared against, wildcards replaced by 0.
    con: Version,
    /// Some component is a wildcard or missing.
    dirty: bool,
    /// The minor (and so the patch) is a wildcard or missing.
    minor_dirty: bool,
    /// Only the patch is a wildcard or missing.
    patch_dirty: bool,
}

impl Constraint {
    /// Builds the constraint like Masterminds' `parseConstraint`; fails when
    /// the version (after wildcard substitution) is not a valid version.
    pub(crate) fn new(op: Op, op_text: &str, cv: &ConstraintVersion<'_>) -> Result<Self, VersionErrorKind> {
        let pre = cv.pre.map(|p| format!("-{p}")).unwrap_or_default();
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let version = if is_wildcard(cv.major) {
            dirty = true;
            format!("0.0.0{pre}")
        } else if cv.minor.is_none_or(is_wildcard) {
            (dirty, minor_dirty) = (true, true);
            format!("{}.0.0{pre}", cv.major)
        } else if let (Some(minor), true) = (cv.minor, cv.patch.is_none_or(is_wildcard)) {
            (dirty, patch_dirty) = (true, true);
            format!("{}.{minor}.0{pre}", cv.major)
        } else {
            cv.whole.to_owned()
        };
        let con = Version::parse_lenient(&version).map_err(|e| e.kind().clone())?;
        Ok(Self { op, text: format!("{op_text}{}", cv.whole), con, dirty, minor_dirty, patch_dirty })
    }

    /// The constraint as written, without inner spaces.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether the constraint names a prerelease (opting its AND group in).
    pub(crate) fn has_prerelease(&self) -> bool {
        self.con.is_prerelease()
    }

    /// Whether `v` satisfies this constraint; `include_pre` says whether the
    /// AND group admits prereleases at all.
    pub(crate) fn admits(&self, v: &Version, include_pre: bool) -> bool {
        if v.is_prerelease() && !include_pre {
            return false;
        }
        match self.op {
            Op::NotEqual => self.not_equal(v),
            Op::Greater => self.greater(v),
            Op::Less => v < &self.con,
            Op::GreaterEqual => v >= &self.con,
            Op::LessEqual => self.less_equal(v),
            Op::Tilde => self.tilde(v),
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => v == &self.con,
            Op::Caret => self.caret(v),
        }
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if c.major() != v.major() {
                return true;
            }
            if c.minor() != v.minor() && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch() != v.patch() && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                return (v.is_prerelease() || c.is_prerelease())
                    && compare_prerelease(v.prerelease(), c.prerelease()) != Ordering::Equal;
            }
        }
        v != c
    }

    fn greater(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v > c;
        }
        match v.major().cmp(&c.major()) {
            Ordering::Greater => true,
            Ordering::Less => false,
            // `>1` needs 2.0.0 or more; `>1.1` needs 1.2.0 or more.
            Ordering::Equal if self.minor_dirty => false,
            Ordering::Equal if self.patch_dirty => v.minor() > c.minor(),
            Ordering::Equal => v > c,
        }
    }

    fn less_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v <= c;
        }
        // `<=1.1` admits 1.1.9: only the named components are compared.
        !(v.major() > c.major() || (v.major() == c.major() && v.minor() > c.minor() && !self.minor_dirty))
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v < c {
            return false;
        }
        // `~0.0.0` (and `~*`) admit everything.
        if (c.major(), c.minor(), c.patch()) == (0, 0, 0) && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major() == c.major() && (v.minor() == c.minor() || self.minor_dirty)
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v < c {
            return false;
        }
        if c.major() > 0 || self.minor_dirty {
            return v.major() == c.major();
        }
        if v.major() > 0 {
            return false;
        }
        if c.minor() > 0 || self.patch_dirty {
            return v.minor() == c.minor();
        }
        if v.minor() > 0 {
            return false;
        }
        c.patch() == v.patch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses one atom the way a group does (operator, optional spaces, version).
    fn atom(s: &str) -> Constraint {
        let (op, len) = Op::read(s);
        let start = len + s[len..].bytes().take_while(|&b| is_go_space(b)).count();
        let cv = scan_version(s, start).unwrap_or_else(|| panic!("no version in {s:?}"));
        assert_eq!(cv.end, s.len(), "trailing text in {s:?}");
        Constraint::new(op, &s[..len], &cv).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    macro_rules! single {
        ($($name:ident: $c:expr, $v:expr => $ok:expr,)*) => {$(
            #[test]
            fn $name() {
                let c = atom($c);
                let v = Version::parse_lenient($v).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(c.admits(&v, c.has_prerelease()), $ok, "{} vs {}", $c, $v);
            }
        )*};
    }

    // Masterminds/semver constraints_test.go `TestConstraintCheck` (single
    // constraints, prereleases admitted only when the constraint names one).
    single! {
        eq_exact_no: "=2.0.0", "1.2.3" => false,
        eq_exact_yes: "=2.0.0", "2.0.0" => true,
        eq_partial_no: "=2.0", "1.2.3" => false,
        eq_partial_yes: "=2.0", "2.0.0" => true,
        eq_partial_patch: "=2.0", "2.0.1" => true,
        bare_partial: "4.1", "4.1.0" => true,
        ne_exact: "!=4.1.0", "4.1.0" => false,
        ne_exact_other: "!=4.1.0", "4.1.1" => true,
        ne_partial: "!=4.1", "4.1.0" => false,
        ne_partial_patch: "!=4.1", "4.1.1" => false,
        ne_partial_pre: "!=4.1", "5.1.0-alpha.1" => false,
        ne_exact_pre: "!=4.1.0", "5.1.0-alpha.1" => false,
        ne_pre_constraint: "!=4.1-alpha", "4.1.0" => true,
        ne_other_major: "!=4.1", "5.1.0" => true,
        lt_major: "<11", "0.1.0" => true,
        lt_major_same: "<11", "11.1.0" => false,
        lt_minor: "<1.1", "0.1.0" => true,
        lt_minor_same: "<1.1", "1.1.0" => false,
        lt_minor_patch: "<1.1", "1.1.1" => false,
        le_major: "<=11", "1.2.3" => true,
        le_major_above: "<=11", "12.2.3" => false,
        le_major_same: "<=11", "11.2.3" => true,
        le_minor_above: "<=1.1", "1.2.3" => false,
        le_minor_below: "<=1.1", "0.1.0" => true,
        le_minor_same: "<=1.1", "1.1.0" => true,
        le_minor_patch: "<=1.1", "1.1.1" => true,
        gt_minor: ">1.1", "4.1.0" => true,
        gt_minor_same: ">1.1", "1.1.0" => false,
        gt_zero_zero: ">0", "0" => false,
        gt_zero_one: ">0", "1" => true,
        gt_zero_pre: ">0", "0.0.1-alpha" => false,
        gt_zero_zero_pre: ">0.0", "0.0.1-alpha" => false,
        gt_zero_dash_zero: ">0-0", "0.0.1-alpha" => false,
        gt_zero_zero_dash_zero: ">0.0-0", "0.0.1-alpha" => false,
        gt_zero_pre_zero: ">0", "0.0.0-alpha" => false,
        gt_zero_dash_pre_zero: ">0-0", "0.0.0-alpha" => false,
        gt_full_pre: ">0.0.0-0", "0.0.0-alpha" => true,
        gt_pre_pre: ">1.2.3-alpha.1", "1.2.3-alpha.2" => true,
        gt_pre_other_minor: ">1.2.3-alpha.1", "1.3.3-alpha.2" => true,
        gt_major_same: ">11", "11.1.0" => false,
        gt_minor_same_patch0: ">11.1", "11.1.0" => false,
        gt_minor_same_patch1: ">11.1", "11.1.1" => false,
        gt_minor_next: ">11.1", "11.2.1" => true,
        ge_major: ">=11", "11.1.2" => true,
        ge_minor: ">=11.1", "11.1.2" => true,
        ge_minor_below: ">=11.1", "11.0.2" => false,
        ge_zero_pre: ">=0", "0.0.1-alpha" => false,
        ge_zero_dash_zero: ">=0-0", "0.0.1-alpha" => true,
        ge_zero_zero_dash_zero: ">=0.0-0", "0.0.1-alpha" => true,
        ge_full_pre: ">=0.0.0-0", "1.2.3" => true,
        ge_full_pre_other: ">=0.0.0-0", "3.4.5-beta.1" => true,
        lt_zero_pre: "<0", "0.0.0-alpha" => false,
        lt_zero_dash_z: "<0-z", "0.0.0-alpha" => true,
        ge_zero_zero: ">=0", "0" => true,
        eq_zero: "=0", "1" => false,
        star_one: "*", "1" => true,
        star_release: "*", "4.5.6" => true,
        star_pre: "*", "1.2.3-alpha.1" => false,
        star_dash_zero: "*-0", "1.2.3-alpha.1" => true,
        x_minor_below: "2.*", "1" => false,
        x_minor_above: "2.*", "3.4.5" => false,
        x_minor_in: "2.*", "2.1.1" => true,
        x_patch_in: "2.1.*", "2.1.1" => true,
        x_patch_out: "2.1.*", "2.2.1" => false,
        bare_major_below: "2", "1" => false,
        bare_major_above: "2", "3.4.5" => false,
        bare_major_in: "2", "2.1.1" => true,
        bare_minor_in: "2.1", "2.1.1" => true,
        bare_minor_out: "2.1", "2.2.1" => false,
        tilde_patch: "~1.2.3", "1.2.4" => true,
        tilde_patch_minor: "~1.2.3", "1.3.4" => false,
        tilde_minor: "~1.2", "1.2.4" => true,
        tilde_minor_out: "~1.2", "1.3.4" => false,
        tilde_major: "~1", "1.2.4" => true,
        tilde_major_out: "~1", "2.3.4" => false,
        tilde_zero: "~0.2.3", "0.2.5" => true,
        tilde_zero_out: "~0.2.3", "0.3.5" => false,
        tilde_pre: "~1.2.3-beta.2", "1.2.3-beta.4" => true,
        tilde_pre_next_patch: "~1.2.3-beta.2", "1.2.4-beta.2" => true,
        tilde_pre_next_minor: "~1.2.3-beta.2", "1.3.4-beta.2" => false,
        caret_in: "^1.2.3", "1.8.9" => true,
        caret_major_out: "^1.2.3", "2.8.9" => false,
        caret_below: "^1.2.3", "1.2.1" => false,
        caret_next_major: "^1.1.0", "2.1.0" => false,
        caret_next_major2: "^1.2.0", "2.2.1" => false,
        caret_pre_excluded: "^1.2.0", "1.2.1-alpha.1" => false,
        caret_pre_included: "^1.2.0-alpha.0", "1.2.1-alpha.1" => true,
        caret_pre_included2: "^1.2.0-alpha.0", "1.2.1-alpha.0" => true,
        caret_pre_below: "^1.2.0-alpha.2", "1.2.0-alpha.1" => false,
        caret_minor: "^1.2", "1.8.9" => true,
        caret_minor_out: "^1.2", "2.8.9" => false,
        caret_major: "^1", "1.8.9" => true,
        caret_major_only_out: "^1", "2.8.9" => false,
        caret_zero_minor: "^0.2.3", "0.2.5" => true,
        caret_zero_minor_out: "^0.2.3", "0.5.6" => false,
        caret_zero_partial: "^0.2", "0.2.5" => true,
        caret_zero_partial_out: "^0.2", "0.5.6" => false,
        caret_zero_zero: "^0.0.3", "0.0.3" => true,
        caret_zero_zero_out: "^0.0.3", "0.0.4" => false,
        caret_zero_zero_partial: "^0.0", "0.0.3" => true,
        caret_zero_zero_partial_minor: "^0.0", "0.1.4" => false,
        caret_zero_zero_partial_major: "^0.0", "1.0.4" => false,
        caret_zero: "^0", "0.2.3" => true,
        caret_zero_out: "^0", "1.1.4" => false,
        caret_zero_pre: "^0.2.3-beta.2", "0.2.3-beta.4" => true,
        caret_zero_pre_next_patch: "^0.2.3-beta.2", "0.2.4-beta.2" => true,
        caret_zero_pre_next_minor: "^0.2.3-beta.2", "0.3.4-beta.2" => false,
        caret_zero_pre_same: "^0.2.3-beta.2", "0.2.3-beta.2" => true,
        // Wildcard edge cases read off constraints.go.
        gt_x_minor: ">1.x", "1.9.0" => false,
        gt_x_minor_next: ">1.x", "2.0.0" => true,
        le_x_patch: "<=1.2.x", "1.2.99" => true,
        le_x_patch_out: "<=1.2.x", "1.3.0" => false,
        ne_x_major: "!=1.x", "1.5.0" => false,
        ne_x_major_other: "!=1.x", "2.0.0" => true,
        caret_star_is_zero: "^*", "1.2.3" => false,
        ne_star_only_zero: "!=*", "0.0.0" => false,
    }

    #[test]
    fn scan_is_greedy_and_keeps_quirky_pipe() {
        let cv = scan_version("v1.2.3-rc.1+b.2 rest", 0).map(|c| (c.whole, c.end));
        assert_eq!(cv, Some(("v1.2.3-rc.1+b.2", 15)));
        // A trailing `.` or `-` is left for the caller to reject.
        assert_eq!(scan_version("1.2.", 0).map(|c| c.whole), Some("1.2"));
        assert_eq!(scan_version("1-", 0).map(|c| c.whole), Some("1"));
        assert_eq!(scan_version("2||3", 0).map(|c| c.whole), Some("2||3"));
        assert!(scan_version("v", 0).is_none());
        assert!(scan_version("-1", 0).is_none());
    }
}
