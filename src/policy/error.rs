//! Errors of compiling a policy and of selecting a tag.

/// A policy field that cannot be compiled.
///
/// Displays as `{field}: {message}`, e.g.
/// ``policy.semver.range: invalid semver range `>=1.0.0 <`: `<` is not followed by a version at byte 8``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidPolicy {
    /// The field in Flux's vocabulary: `policy.semver.range`,
    /// `policy.alphabetical.order`, `policy.numerical.order`,
    /// `filterTags.pattern`, `filterTags.extract` or `exclusionList`.
    pub field: &'static str,
    /// What is wrong, naming the offending value in backticks.
    pub message: String,
}

impl InvalidPolicy {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// Why a compiled policy picked nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// No tag is left once the exclusion list and `filterTags` are applied.
    #[error("no tags left after the exclusion list and filter")]
    NoTags,
    /// Tags were left, but none satisfies the policy (semver only).
    #[error("no tag matches the policy")]
    NoMatch,
    /// The numerical policy met a candidate that is not a number.
    #[error("tag `{tag}` is not a number")]
    NotANumber {
        /// The original tag (the smallest such tag when there are several).
        tag: String,
    },
}

/// Renders a `regex` error on one line: its `error:` line, or the whole text.
pub(crate) fn regex_message(pattern: &str, err: &regex::Error) -> String {
    let text = err.to_string();
    let reason = text.lines().find_map(|l| l.trim_start().strip_prefix("error: ")).unwrap_or(text.trim());
    format!("invalid regular expression `{pattern}`: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_field_then_message() {
        let e = InvalidPolicy::new("policy.numerical.order", "invalid order `x`");
        assert_eq!(e.to_string(), "policy.numerical.order: invalid order `x`");
        let tag = SelectError::NotANumber { tag: "1a".to_owned() };
        assert_eq!(tag.to_string(), "tag `1a` is not a number");
    }

    #[test]
    fn regex_message_is_one_line() {
        // Built at run time so clippy's `invalid_regex` does not object.
        let pattern = String::from("(");
        let msg = regex::Regex::new(&pattern).err().map(|e| regex_message(&pattern, &e));
        assert_eq!(msg.as_deref(), Some("invalid regular expression `(`: unclosed group"));
    }
}
