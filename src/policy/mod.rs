//! Tag policies with Flux's `ImagePolicy` semantics: pick one tag out of a
//! repository's tags by a semver, alphabetical or numerical rule, after the
//! `exclusionList` and `filterTags`.
//!
//! [`PolicySpec`] is the policy as written; [`TagPolicy::compile`] validates
//! it once ([`InvalidPolicy`] names the field); [`TagPolicy::select`] picks a
//! tag, and [`TagPolicy::evaluate`] also says what happened to every tag.
//!
//! Pure: no I/O, no registry access. Two deliberate differences from Flux,
//! both making results reproducible: ties never depend on tag order (equal
//! rank goes to the lexicographically greatest tag, with or without a filter; tags extracting the same
//! value are represented by the lexicographically smallest), and numbers are
//! compared exactly instead of as float64.

mod error;
mod fate;
mod filter;
mod number;
mod rule;
mod spec;
mod tag_policy;

pub use error::{InvalidPolicy, SelectError};
pub use fate::{Evaluation, TagFate, TagReport};
pub use filter::DEFAULT_EXCLUSION;
pub use spec::{Order, ParseOrderError, PolicySpec, RuleSpec};
pub use tag_policy::TagPolicy;
