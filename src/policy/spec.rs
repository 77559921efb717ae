//! The uncompiled policy, as written in an `ImagePolicy` or
//! `ImagePolicyConfig`: rule, `filterTags` and `exclusionList`.

use std::fmt;
use std::str::FromStr;

/// Sort order of the alphabetical and numerical rules.
///
/// `Asc` (the default) picks the greatest value, `Desc` the smallest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Pick the greatest value.
    #[default]
    Asc,
    /// Pick the smallest value.
    Desc,
}

/// An order other than `asc` or `desc`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid order `{0}`: must be `asc` or `desc`")]
pub struct ParseOrderError(String);

impl FromStr for Order {
    type Err = ParseOrderError;

    /// Accepts `asc`, `desc` and `""` (= `asc`), as Flux's CRD does; other
    /// spellings (`ASC`) are rejected like the API server would.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            other => Err(ParseOrderError(other.to_owned())),
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        })
    }
}

/// The `policy` choice of an `ImagePolicy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSpec {
    /// `semver: {range}`: the greatest version in a Masterminds range.
    Semver {
        /// The range, e.g. `>=1.0.0 <2.0.0`.
        range: String,
    },
    /// `alphabetical: {order}`: byte-wise order.
    Alphabetical {
        /// `asc` (default) or `desc`.
        order: Option<String>,
    },
    /// `numerical: {order}`: every candidate must be a number.
    Numerical {
        /// `asc` (default) or `desc`.
        order: Option<String>,
    },
}

/// A whole policy before validation; see [`TagPolicy::compile`](super::TagPolicy::compile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    /// How candidates are ranked.
    pub rule: RuleSpec,
    /// `filterTags.pattern`: unanchored regex; tags it does not match are dropped.
    pub filter_pattern: Option<String>,
    /// `filterTags.extract`: Go `ExpandString` template ranked instead of the
    /// tag; `None` or `""` ranks the tag itself.
    pub filter_extract: Option<String>,
    /// `exclusionList`: regexes of tags dropped first; `None` or empty means
    /// the default `^.*\.sig$`.
    pub exclusion_list: Option<Vec<String>>,
}

impl PolicySpec {
    /// A policy with just a rule: no filter, default exclusion list.
    pub fn new(rule: RuleSpec) -> Self {
        Self { rule, filter_pattern: None, filter_extract: None, exclusion_list: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! order {
        ($($name:ident: $input:expr => $expected:expr,)*) => {$(
            #[test]
            fn $name() {
                assert_eq!($input.parse::<Order>().map_err(|e| e.to_string()), $expected);
            }
        )*};
    }

    // Flux internal/policy numerical_test.go / alphabetical_test.go
    // `TestNewNumerical` rows, with the CRD's lowercase spelling.
    order! {
        empty_is_asc: "" => Ok(Order::Asc),
        asc: "asc" => Ok(Order::Asc),
        desc: "desc" => Ok(Order::Desc),
        invalid: "invalid" => Err("invalid order `invalid`: must be `asc` or `desc`".to_owned()),
        upper_rejected: "ASC" => Err("invalid order `ASC`: must be `asc` or `desc`".to_owned()),
    }

    #[test]
    fn order_round_trips() {
        for o in [Order::Asc, Order::Desc] {
            assert_eq!(o.to_string().parse::<Order>(), Ok(o));
        }
        assert_eq!(Order::default(), Order::Asc);
    }
}
