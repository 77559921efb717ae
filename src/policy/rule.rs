//! The compiled rule (semver, alphabetical or numerical) and how it ranks the
//! candidates left after exclusion, filtering and de-duplication.

use super::error::{InvalidPolicy, SelectError};
use super::fate::TagFate;
use super::number::Decimal;
use super::spec::{Order, RuleSpec};
use crate::semver::{Constraints, Version};
use std::borrow::Cow;
use std::cmp::Ordering;

/// A tag that reached the rule: its position in the input, the tag and the
/// value to rank. Values are distinct.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<'t> {
    pub(crate) index: usize,
    pub(crate) tag: &'t str,
    pub(crate) value: Cow<'t, str>,
}

/// The result of ranking: for each candidate, its fate if the rule rejected
/// it (`None` = acceptable), and the position of the winner.
pub(crate) struct Ranking<'t> {
    pub(crate) rejected: Vec<Option<TagFate<'t>>>,
    pub(crate) winner: Result<usize, SelectError>,
}

/// A validated `policy` choice.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    Semver(Constraints),
    Alphabetical(Order),
    Numerical(Order),
}

impl Rule {
    /// Validates the range or order.
    pub(crate) fn compile(spec: &RuleSpec) -> Result<Self, InvalidPolicy> {
        let order = |field: &'static str, order: &Option<String>| {
            order.as_deref().unwrap_or_default().parse::<Order>().map_err(|e| InvalidPolicy::new(field, e.to_string()))
        };
        Ok(match spec {
            RuleSpec::Semver { range } => Self::Semver(
                Constraints::parse(range).map_err(|e| InvalidPolicy::new("policy.semver.range", e.to_string()))?,
            ),
            RuleSpec::Alphabetical { order: o } => Self::Alphabetical(order("policy.alphabetical.order", o)?),
            RuleSpec::Numerical { order: o } => Self::Numerical(order("policy.numerical.order", o)?),
        })
    }

    /// Ranks non-empty, value-distinct `candidates`. Ties in rank (`1.0.0` and
    /// `v1.0.0`, `10` and `010`) go to the lexicographically greatest tag, with
    /// or without a filter, so the result never depends on order.
    pub(crate) fn rank<'t>(&self, candidates: &[Candidate<'t>]) -> Ranking<'t> {
        match self {
            Self::Semver(range) => rank_semver(range, candidates),
            Self::Alphabetical(order) => Ranking {
                rejected: vec![None; candidates.len()],
                winner: best(candidates.iter().map(|c| c.value.as_ref()), candidates, *order, |a, b| a.cmp(b)),
            },
            Self::Numerical(order) => rank_numerical(*order, candidates),
        }
    }
}

/// Position of the best candidate among `keys` (one per candidate): `Asc`
/// wants the greatest key, `Desc` the smallest; equal keys fall back to the
/// greatest tag.
fn best<K>(
    keys: impl Iterator<Item = K>,
    candidates: &[Candidate<'_>],
    order: Order,
    cmp: impl Fn(&K, &K) -> Ordering,
) -> Result<usize, SelectError> {
    keys.zip(candidates)
        .enumerate()
        .max_by(|(_, (ka, a)), (_, (kb, b))| {
            let by_key = match order {
                Order::Asc => cmp(ka, kb),
                Order::Desc => cmp(kb, ka),
            };
            by_key.then_with(|| a.tag.cmp(b.tag))
        })
        .map(|(pos, _)| pos)
        .ok_or(SelectError::NoTags)
}

fn rank_semver<'t>(range: &Constraints, candidates: &[Candidate<'t>]) -> Ranking<'t> {
    let mut rejected = Vec::with_capacity(candidates.len());
    let mut winner: Option<(usize, Version)> = None;
    for (pos, c) in candidates.iter().enumerate() {
        let value = c.value.clone();
        let version = match Version::parse(&c.value) {
            Ok(v) => v,
            Err(error) => {
                rejected.push(Some(TagFate::NotAVersion { value, error }));
                continue;
            }
        };
        if let Err(reason) = range.check(&version) {
            rejected.push(Some(TagFate::Unsatisfied { value, reason }));
            continue;
        }
        rejected.push(None);
        let better =
            winner.as_ref().is_none_or(|(w, wv)| version.cmp(wv).then_with(|| c.tag.cmp(candidates[*w].tag)).is_gt());
        if better {
            winner = Some((pos, version));
        }
    }
    Ranking { rejected, winner: winner.map(|(pos, _)| pos).ok_or(SelectError::NoMatch) }
}

fn rank_numerical<'t>(order: Order, candidates: &[Candidate<'t>]) -> Ranking<'t> {
    let numbers: Vec<Option<Decimal>> = candidates.iter().map(|c| Decimal::parse(&c.value)).collect();
    let rejected = numbers
        .iter()
        .zip(candidates)
        .map(|(n, c)| n.is_none().then(|| TagFate::NotANumber { value: c.value.clone() }))
        .collect();
    let first_bad = numbers.iter().zip(candidates).filter(|(n, _)| n.is_none()).map(|(_, c)| c.tag).min();
    let winner = match first_bad {
        Some(tag) => Err(SelectError::NotANumber { tag: tag.to_owned() }),
        None => best(numbers.iter(), candidates, order, |a, b| a.cmp(b)),
    };
    Ranking { rejected, winner }
}
