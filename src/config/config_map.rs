//! A `ConfigMap` functionConfig: one policy from flat keys, for `kpt fn eval --exec imgpolicy -- k=v`.
//!
//! Keys: `image` (required), one of `semver` (a range), `alphabetical` or `numerical` (an
//! order), and optionally `name` (default: the last component of the image's path),
//! `namespace` (default `flux-system`), `filterTags.pattern`, `filterTags.extract`,
//! `exclusionList` (one regex), `digestReflectionPolicy`, `insecure`, `matchImages`, `onError`,
//! `pinDigests`, `pinDigestsExclude` (comma-separated prefixes).
//!
//! With only `pinDigests=true` (and no `image`), the ConfigMap pins digests and defines no policy.

use std::collections::BTreeMap;

use crate::policy::RuleSpec;
use crate::resource_list::Resource;

use super::image_policy_config::{FilterTags, policy_spec};
use super::resolved::{DEFAULT_NAMESPACE, Places, PolicyInput};
use super::{Config, ConfigError, DigestReflection, OnError, PolicyRef};

const KEYS: [&str; 15] = [
    "name",
    "namespace",
    "image",
    "semver",
    "alphabetical",
    "numerical",
    "filterTags.pattern",
    "filterTags.extract",
    "exclusionList",
    "digestReflectionPolicy",
    "insecure",
    "matchImages",
    "onError",
    "pinDigests",
    "pinDigestsExclude",
];

/// Reads a ConfigMap's `data` into `config`.
pub(super) fn read(resource: &Resource<'_>, config: &mut Config, errors: &mut Vec<ConfigError>) {
    let object = format!("functionConfig ConfigMap/{}", resource.name().unwrap_or(""));
    let mut data = BTreeMap::new();
    for entry in resource.node.get("data").and_then(|data| data.entries()).unwrap_or_default() {
        let key = entry.key.as_str().unwrap_or_default().to_owned();
        let value = entry.value.as_str().unwrap_or_default().to_owned();
        data.insert(key, value);
    }
    let error = |key: &str, message: String| ConfigError::new(format!("{object}: data.{key}"), message);
    let before = errors.len();
    for key in data.keys().filter(|key| !KEYS.contains(&key.as_str())) {
        errors.push(error(key, format!("unknown key; known keys: {}", KEYS.join(", "))));
    }
    let boolean = |key: &str, errors: &mut Vec<ConfigError>| match data.get(key).map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            errors.push(error(key, format!("expected `true` or `false`, found `{other}`")));
            false
        }
    };
    config.match_images = boolean("matchImages", errors);
    config.pin_digests = boolean("pinDigests", errors);
    config.pin_digests_exclude = data
        .get("pinDigestsExclude")
        .map(|list| list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let insecure = boolean("insecure", errors);
    config.on_error = match data.get("onError").map(String::as_str) {
        None | Some("fail") => OnError::Fail,
        Some("keep") => OnError::Keep,
        Some(other) => {
            errors.push(error("onError", format!("expected `fail` or `keep`, found `{other}`")));
            OnError::Fail
        }
    };
    let digest_reflection = match data.get("digestReflectionPolicy").map(String::as_str) {
        None | Some("Never") => DigestReflection::Never,
        Some("IfNotPresent") => DigestReflection::IfNotPresent,
        Some("Always") => DigestReflection::Always,
        Some(other) => {
            errors.push(error(
                "digestReflectionPolicy",
                format!("expected `Never`, `IfNotPresent` or `Always`, found `{other}`"),
            ));
            DigestReflection::Never
        }
    };
    let rules: Vec<RuleSpec> = [
        data.get("semver").map(|range| RuleSpec::Semver { range: range.clone() }),
        data.get("alphabetical").map(|order| RuleSpec::Alphabetical { order: Some(order.clone()) }),
        data.get("numerical").map(|order| RuleSpec::Numerical { order: Some(order.clone()) }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let Some(image) = data.get("image").cloned() else {
        if !(config.pin_digests && rules.is_empty()) {
            errors.push(error("image", "required: the image repository the policy selects tags of".to_owned()));
        }
        return;
    };
    let rule = match <[RuleSpec; 1]>::try_from(rules) {
        Ok([rule]) if errors.len() == before => rule,
        Ok(_) => return,
        Err(_) => {
            return errors.push(error(
                "semver",
                "exactly one of `semver`, `alphabetical` or `numerical` is required".to_owned(),
            ));
        }
    };
    let name = data.get("name").cloned().unwrap_or_else(|| image.rsplit('/').next().unwrap_or(&image).to_owned());
    let filter = FilterTags {
        pattern: data.get("filterTags.pattern").cloned(),
        extract: data.get("filterTags.extract").cloned(),
    };
    let input = PolicyInput {
        reference: PolicyRef {
            namespace: data.get("namespace").cloned().unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            name,
        },
        image,
        spec: policy_spec(rule, Some(filter), data.get("exclusionList").map(|pattern| vec![pattern.clone()])),
        digest_reflection,
    };
    if insecure && let Ok(repository) = crate::image::parse_repository(&input.image) {
        config.set_insecure(&repository.host);
    }
    config.add_policy(input, &Places::in_one_object(format!("{object}: data."), flat_key), errors);
}

/// The flat key that holds a policy field.
fn flat_key(field: &'static str) -> &'static str {
    match field {
        "policy.semver.range" => "semver",
        "policy.alphabetical.order" => "alphabetical",
        "policy.numerical.order" => "numerical",
        other => other,
    }
}
