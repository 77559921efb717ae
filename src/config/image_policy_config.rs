//! The `ImagePolicyConfig` functionConfig (DESIGN §2).

use serde::Deserialize;

use crate::policy::{PolicySpec, RuleSpec};
use crate::resource_list::Resource;

use super::resolved::{DEFAULT_NAMESPACE, Places, PolicyInput, flux_field_name};
use super::{Config, ConfigError, DigestReflection, OnError, PolicyRef, read_spec};

/// The apiVersion this version of imgpolicy reads.
pub(super) const API_VERSION: &str = "imgpolicy.dev/v1alpha1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    policies: Vec<PolicyEntry>,
    #[serde(default)]
    registries: Vec<Registry>,
    #[serde(default)]
    match_images: bool,
    #[serde(default)]
    pin_digests: bool,
    #[serde(default)]
    pin_digests_exclude: Vec<String>,
    #[serde(default)]
    on_error: OnError,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyEntry {
    name: String,
    namespace: Option<String>,
    image: String,
    policy: Choice,
    filter_tags: Option<FilterTags>,
    exclusion_list: Option<Vec<String>>,
    #[serde(default)]
    digest_reflection_policy: DigestReflection,
}

/// `policy:` with exactly one of its three keys, as Flux's ImagePolicy has it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Choice {
    semver: Option<Semver>,
    alphabetical: Option<Ordered>,
    numerical: Option<Ordered>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Semver {
    range: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Ordered {
    order: Option<String>,
}

/// Flux's `filterTags`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FilterTags {
    pub(super) pattern: Option<String>,
    pub(super) extract: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registry {
    host: String,
    #[serde(default)]
    insecure: bool,
}

impl Choice {
    /// The rule, or what is wrong with the choice.
    pub(super) fn rule(self) -> Result<RuleSpec, &'static str> {
        match (self.semver, self.alphabetical, self.numerical) {
            (Some(Semver { range }), None, None) => Ok(RuleSpec::Semver { range }),
            (None, Some(Ordered { order }), None) => Ok(RuleSpec::Alphabetical { order }),
            (None, None, Some(Ordered { order })) => Ok(RuleSpec::Numerical { order }),
            (None, None, None) => Err("one of `semver`, `alphabetical` or `numerical` is required"),
            _ => Err("only one of `semver`, `alphabetical` or `numerical` may be set"),
        }
    }
}

/// Builds a [`PolicySpec`] from Flux-shaped parts, shared with the Flux reader.
pub(super) fn policy_spec(
    rule: RuleSpec,
    filter: Option<FilterTags>,
    exclusion_list: Option<Vec<String>>,
) -> PolicySpec {
    let filter = filter.unwrap_or_default();
    PolicySpec { rule, filter_pattern: filter.pattern, filter_extract: filter.extract, exclusion_list }
}

/// Reads an `ImagePolicyConfig` into `config`.
pub(super) fn read(resource: &Resource<'_>, config: &mut Config, errors: &mut Vec<ConfigError>) {
    let object = format!("functionConfig ImagePolicyConfig/{}", resource.name().unwrap_or(""));
    if resource.api_version() != Some(API_VERSION) {
        errors.push(ConfigError::new(
            format!("{object}: apiVersion"),
            format!("expected `{API_VERSION}`, found `{}`", resource.api_version().unwrap_or("")),
        ));
        return;
    }
    let spec: Spec = match read_spec(resource, &object) {
        Ok(spec) => spec,
        Err(error) => return errors.push(error),
    };
    config.match_images = spec.match_images;
    config.pin_digests = spec.pin_digests;
    config.pin_digests_exclude = spec.pin_digests_exclude;
    config.on_error = spec.on_error;
    for registry in spec.registries {
        config.registries.entry(registry.host).or_default().insecure |= registry.insecure;
    }
    for (index, entry) in spec.policies.into_iter().enumerate() {
        let place = format!("{object}: spec.policies[{index}].");
        let rule = match entry.policy.rule() {
            Ok(rule) => rule,
            Err(message) => {
                errors.push(ConfigError::new(format!("{place}policy"), message));
                continue;
            }
        };
        let input = PolicyInput {
            reference: PolicyRef {
                namespace: entry.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
                name: entry.name,
            },
            image: entry.image,
            spec: policy_spec(rule, entry.filter_tags, entry.exclusion_list),
            digest_reflection: entry.digest_reflection_policy,
        };
        config.add_policy(input, &Places::in_one_object(place, flux_field_name), errors);
    }
}
