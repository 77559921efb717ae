//! `filterTags` (an unanchored regex plus an optional extract template,
//! expanded with Go's `Regexp.ExpandString` rules) and the `exclusionList`.

use super::error::{InvalidPolicy, regex_message};
use regex::{Captures, Regex};
use std::borrow::Cow;

/// The exclusion list Flux applies when none (or an empty one) is given.
pub const DEFAULT_EXCLUSION: &str = r"^.*\.sig$";

/// Compiled `exclusionList`.
#[derive(Debug, Clone)]
pub(crate) struct ExclusionList {
    patterns: Vec<Regex>,
}

impl ExclusionList {
    /// Compiles the list; `None` or empty means [`DEFAULT_EXCLUSION`].
    pub(crate) fn compile(list: Option<&[String]>) -> Result<Self, InvalidPolicy> {
        let default = [DEFAULT_EXCLUSION.to_owned()];
        let sources = match list {
            Some(l) if !l.is_empty() => l,
            _ => &default[..],
        };
        let patterns = sources
            .iter()
            .map(|p| Regex::new(p).map_err(|e| InvalidPolicy::new("exclusionList", regex_message(p, &e))))
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// The first pattern matching `tag`, if any.
    pub(crate) fn excluding(&self, tag: &str) -> Option<&str> {
        self.patterns.iter().find(|p| p.is_match(tag)).map(Regex::as_str)
    }
}

/// Compiled `filterTags`.
#[derive(Debug, Clone)]
pub(crate) struct TagFilter {
    regex: Regex,
    extract: Option<String>,
}

impl TagFilter {
    /// Compiles `pattern` and keeps `extract` (`""` counts as absent, as in
    /// Flux). An `extract` without a `pattern` is rejected.
    pub(crate) fn compile(pattern: Option<&str>, extract: Option<&str>) -> Result<Option<Self>, InvalidPolicy> {
        let extract = extract.filter(|e| !e.is_empty());
        let Some(pattern) = pattern else {
            return match extract {
                None => Ok(None),
                Some(e) => Err(InvalidPolicy::new(
                    "filterTags.extract",
                    format!("`{e}` needs a filterTags.pattern to extract from"),
                )),
            };
        };
        let regex =
            Regex::new(pattern).map_err(|e| InvalidPolicy::new("filterTags.pattern", regex_message(pattern, &e)))?;
        Ok(Some(Self { regex, extract: extract.map(str::to_owned) }))
    }

    /// The value to rank for `tag`: `None` when the pattern does not match,
    /// the tag itself without `extract`, else the expanded template.
    pub(crate) fn apply<'t>(&self, tag: &'t str) -> Option<Cow<'t, str>> {
        let caps = self.regex.captures(tag)?;
        Some(match &self.extract {
            None => Cow::Borrowed(tag),
            Some(template) => Cow::Owned(expand(template, &caps)),
        })
    }
}

/// Go's `Regexp.ExpandString`: `$name` / `${name}` where a name is the longest
/// run of letters, digits and `_`; all-digit names without a leading zero
/// (and below 10^8) are group numbers; `$$` is `$`; a `$` not followed by a
/// name is kept as is; unknown or unmatched groups expand to nothing.
///
/// Go's letters and digits are Unicode categories L and Nd; this uses Rust's
/// `char::is_alphanumeric`, which differs only for rare non-ASCII characters.
pub(crate) fn expand(template: &str, caps: &Captures<'_>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(n) => caps.get(n),
            None => caps.name(name),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
    out
}

/// Go's `extract`: the name after a `$` and the text after the reference.
fn reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let len = body.char_indices().find(|&(_, c)| !(c.is_alphanumeric() || c == '_')).map_or(body.len(), |(i, _)| i);
    if len == 0 {
        return None;
    }
    let (name, mut rest) = body.split_at(len);
    if braced {
        rest = rest.strip_prefix('}')?;
    }
    Some((name, rest))
}

/// A group number, as Go reads it: ASCII digits, no leading zero, < 10^8.
fn group_number(name: &str) -> Option<usize> {
    let mut n: usize = 0;
    for b in name.bytes() {
        if !b.is_ascii_digit() || n >= 100_000_000 {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    (name.len() == 1 || !name.starts_with('0')).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! expand {
        ($($name:ident: $pattern:expr, $template:expr, $input:expr => $out:expr,)*) => {$(
            #[test]
            fn $name() {
                let filter = TagFilter::compile(Some($pattern), Some($template))
                    .unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|| panic!("no filter"));
                assert_eq!(filter.apply($input).as_deref(), $out);
            }
        )*};
    }

    // Go regexp `ExpandString` rules (regexp.go `expand`/`extract`) and the
    // Flux filter_test.go rows.
    expand! {
        numbered: r"^test-(.*)$", "$1", "test-0.1.0" => Some("0.1.0"),
        named: r"1.0.0-rc\.(?P<num>[0-9]+)", "$num", "1.0.0-rc.3" => Some("3"),
        named_word: r"foo-(?P<word>[a-z]+)", "$word", "foo-zzz" => Some("zzz"),
        braced: r"(?P<a>\d+)-(?P<b>\d+)", "${b}x${a}", "12-34" => Some("34x12"),
        longest_name: r"(\d+)", "$1x", "42" => Some(""),
        braced_number: r"(\d+)", "${1}x", "42" => Some("42x"),
        dollar_dollar: r"(\d+)", "$$1", "42" => Some("$1"),
        lone_dollar: r"(\d+)", "a$-b", "42" => Some("a$-b"),
        trailing_dollar: r"(\d+)", "v$", "42" => Some("v$"),
        unclosed_brace: r"(\d+)", "${1", "42" => Some("${1"),
        unknown_name: r"(\d+)", "$nope", "42" => Some(""),
        unknown_number: r"(\d+)", "[$7]", "42" => Some("[]"),
        leading_zero_is_name: r"(\d+)", "$01", "42" => Some(""),
        zero_is_whole_match: r"\d+", "$0", "ab42cd" => Some("42"),
        unanchored_leftmost_first: r"\d+|\d", "$0", "a123" => Some("123"),
        unmatched_group_empty: r"(a)|(b)", "[$1][$2]", "b" => Some("[][b]"),
        no_match: r"^main-", "$0", "dev-1" => None,
        underscore_name: r"(?P<ts_1>\d+)", "$ts_1", "7" => Some("7"),
    }

    #[test]
    fn without_extract_the_tag_is_kept() -> Result<(), InvalidPolicy> {
        let f = TagFilter::compile(Some("^v"), Some(""))?;
        let got = f.as_ref().and_then(|f| f.apply("v1"));
        assert!(matches!(got, Some(Cow::Borrowed("v1"))));
        assert!(TagFilter::compile(None, None)?.is_none());
        Ok(())
    }

    #[test]
    fn compile_errors_name_the_field() {
        let bad = TagFilter::compile(Some("("), None).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(bad, Err("filterTags.pattern: invalid regular expression `(`: unclosed group".to_owned()));
        let orphan = TagFilter::compile(None, Some("$1")).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(orphan, Err("filterTags.extract: `$1` needs a filterTags.pattern to extract from".to_owned()));
        let excl = ExclusionList::compile(Some(&["ok".to_owned(), "[".to_owned()])).map(|_| ()).map_err(|e| e.field);
        assert_eq!(excl, Err("exclusionList"));
    }

    #[test]
    fn exclusion_defaults_to_signatures() -> Result<(), InvalidPolicy> {
        for list in [None, Some(&[][..])] {
            let e = ExclusionList::compile(list)?;
            assert_eq!(e.excluding("sha256-abc.sig"), Some(DEFAULT_EXCLUSION));
            assert_eq!(e.excluding("1.0.0"), None);
        }
        let custom = ExclusionList::compile(Some(&["^dev-".to_owned()]))?;
        assert_eq!(custom.excluding("x.sig"), None);
        assert_eq!(custom.excluding("dev-1"), Some("^dev-"));
        Ok(())
    }
}
