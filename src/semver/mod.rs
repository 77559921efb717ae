//! Semantic versions and ranges exactly as Flux >= 2.7 uses them: tags parsed
//! by `fluxcd/pkg` `version.ParseVersion`, ranges by Masterminds/semver v3.4.
//!
//! No `semver` crate is used because none implements Masterminds' rules, and
//! those rules are the contract: a policy must pick here what it picks in a
//! cluster.
//!
//! # Traps
//!
//! **Which tags are versions.** A tag is a version only if splitting it on
//! `.` (at most three pieces) gives three pieces *and* Masterminds' lenient
//! parser accepts it. So `1.2`, `v1` and `1.2.3.4` are not versions, but
//! `1.2-rc.1` is (`1`, `2-rc`, `1`: three pieces), and means `1.2.0-rc.1`.
//! Leading zeros are coerced (`v2025.07.03` is 2025.7.3); numeric
//! prerelease identifiers may not have them (`1.2.3-rc.01` is not a version,
//! `1.2.3-0abc` is).
//!
//! **The `v` prefix.** Only a lowercase `v` is allowed, in tags and in
//! ranges. `V1.2.3` is not a version. `v1.0.0` and `1.0.0` have the same
//! precedence; [`Version::original`] keeps the tag as written, which is what a
//! policy returns.
//!
//! **Build metadata** is ignored for ordering: `1.0.0+a` == `1.0.0+b`.
//! Prerelease identifiers compare numerically only when all digits, so
//! `rc.10` > `rc.9` but `rc10` < `rc9`.
//!
//! **Bare and partial versions are ranges.** `1.2` means `>=1.2.0 <1.3.0`
//! and `1` means `>=1.0.0 <2.0.0`; `=1.2` is the same as `1.2`. With `x`,
//! `X` or `*` wildcards, comparisons look only at the named components:
//! `<=1.1` admits `1.1.9`, `>1.x` needs `2.0.0` or more, `!=1.x` excludes
//! every `1.*.*`.
//!
//! **Tilde and caret.** `~1.2.3` is `>=1.2.3 <1.3.0`, `~1` is `>=1.0.0
//! <2.0.0`. `^1.2.3` is `>=1.2.3 <2.0.0`, but below 1.0.0 the caret narrows:
//! `^0.2.3` is `>=0.2.3 <0.3.0` and `^0.0.3` is exactly `0.0.3`. `^*` only
//! admits `0.0.0` (upstream behaviour, kept).
//!
//! **Prereleases** are excluded unless the AND group asks for them: a
//! prerelease version satisfies a group only if some constraint *in that
//! group* names a prerelease. The opt-in is not limited to the same
//! `major.minor.patch`: `>=1.0.0-0 <2.0.0` admits `2.0.0-rc.1`, while
//! `>=1.0.0` admits no prerelease at all. Use `-0` (`>=1.0.0-0`) to opt in.
//!
//! **Grammar.** `||` separates OR groups; inside a group constraints are
//! separated by spaces or a comma. `A - B` (spaces required) is `>= A, <= B`;
//! `1.1-3` is the version `1.1.0-3`, not a range. Operators are `=`, `!=`,
//! `>`, `<`, `>=`/`=>`, `<=`/`=<`, `~`/`~>` and `^`. An empty range is an
//! error.

mod constraint;
mod constraints;
mod version;

pub use constraints::{Constraints, ParseConstraintsError, Unsatisfied};
pub use version::{ParseVersionError, Version, VersionErrorKind};
