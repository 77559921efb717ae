//! The per-tag record of a policy run: what happened to every tag and which
//! one won. `select` keeps only the winner; `--explain` prints all of it.

use super::error::SelectError;
use crate::semver::{ParseVersionError, Unsatisfied};
use std::borrow::Cow;
use std::fmt;

/// What happened to one tag, in pipeline order: exclusion, filter, duplicate
/// values, rule, ranking. `value` is what the rule saw (the extracted value,
/// or the tag itself without `filterTags.extract`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFate<'t> {
    /// Dropped by this `exclusionList` pattern.
    Excluded {
        /// The first pattern that matched.
        pattern: String,
    },
    /// `filterTags.pattern` did not match.
    FilterMismatch,
    /// Another tag extracted the same value and is lexicographically smaller,
    /// so that one represents the value.
    Duplicate {
        /// The shared value.
        value: Cow<'t, str>,
        /// The tag kept for it.
        kept: &'t str,
    },
    /// Semver rule: the value is not a version in Flux's sense.
    NotAVersion {
        /// The value.
        value: Cow<'t, str>,
        /// Why it is not one.
        error: ParseVersionError,
    },
    /// Semver rule: a version, but outside the range or a prerelease the
    /// range does not admit.
    Unsatisfied {
        /// The value.
        value: Cow<'t, str>,
        /// Why the range rejects it.
        reason: Unsatisfied,
    },
    /// Numerical rule: the value is not a number (this fails the policy).
    NotANumber {
        /// The value.
        value: Cow<'t, str>,
    },
    /// Acceptable to the rule, but the policy failed as a whole.
    Eligible {
        /// The value.
        value: Cow<'t, str>,
    },
    /// Acceptable, but ranked below the winner.
    Lost {
        /// The value.
        value: Cow<'t, str>,
        /// The winning tag.
        winner: &'t str,
    },
    /// The tag the policy picks.
    Selected {
        /// The value.
        value: Cow<'t, str>,
    },
}

impl fmt::Display for TagFate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Excluded { pattern } => write!(f, "excluded by `{pattern}`"),
            Self::FilterMismatch => f.write_str("filter pattern did not match"),
            Self::Duplicate { value, kept } => {
                write!(f, "extracted `{value}`, already extracted by `{kept}`")
            }
            Self::NotAVersion { error, .. } => write!(f, "not a version: {error}"),
            Self::Unsatisfied { value, reason } => write!(f, "version `{value}`: {reason}"),
            Self::NotANumber { value } => write!(f, "`{value}` is not a number"),
            Self::Eligible { value } => write!(f, "eligible as `{value}`"),
            Self::Lost { value, winner } => write!(f, "`{value}` lost to `{winner}`"),
            Self::Selected { value } => write!(f, "selected as `{value}`"),
        }
    }
}

/// One input tag and its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagReport<'t> {
    /// The tag as given.
    pub tag: &'t str,
    /// What happened to it.
    pub fate: TagFate<'t>,
}

/// The full result of [`TagPolicy::evaluate`](super::TagPolicy::evaluate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation<'t> {
    /// One report per input tag, in input order.
    pub reports: Vec<TagReport<'t>>,
    /// The selected tag, or why there is none (what `select` returns).
    pub outcome: Result<&'t str, SelectError>,
}
