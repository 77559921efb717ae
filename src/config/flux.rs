//! Flux `ImageRepository` and `ImagePolicy` objects among the items, read as Flux reads them.
//!
//! A repository that uses Flux image automation today works unchanged: the objects stay in the
//! output as they are, and no controller needs to run.

use std::collections::HashMap;

use serde::Deserialize;

use crate::resource_list::Resource;

use super::image_policy_config::{Choice, FilterTags, policy_spec};
use super::resolved::{DEFAULT_NAMESPACE, Places, PolicyInput, flux_field_name};
use super::{Config, ConfigError, DigestReflection, PolicyRef, read_spec};

const GROUP: &str = "image.toolkit.fluxcd.io/";
const VERSIONS: [&str; 2] = ["v1", "v1beta2"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepositorySpec {
    image: String,
    #[serde(default)]
    insecure: bool,
    exclusion_list: Option<Vec<String>>,
    /// How often Flux scans the repository: how long its cached tags stay fresh here.
    interval: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicySpecFlux {
    image_repository_ref: ObjectRef,
    policy: Choice,
    filter_tags: Option<FilterTags>,
    #[serde(default)]
    digest_reflection_policy: DigestReflection,
    /// How often Flux re-reflects the digest (`digestReflectionPolicy: Always`).
    interval: Option<String>,
}

#[derive(Deserialize)]
struct ObjectRef {
    name: String,
    namespace: Option<String>,
}

fn flux_kind<'r>(resource: &'r Resource<'_>) -> Option<&'r str> {
    let version = resource.api_version()?.strip_prefix(GROUP)?;
    VERSIONS.contains(&version).then_some(resource.kind()?)
}

/// Whether `resource` is a Flux image object that [`read`] takes configuration from.
pub(super) fn is_image_object(resource: &Resource<'_>) -> bool {
    flux_kind(resource).is_some()
}

fn reference(resource: &Resource<'_>) -> PolicyRef {
    PolicyRef {
        namespace: resource.namespace().unwrap_or(DEFAULT_NAMESPACE).to_owned(),
        name: resource.name().unwrap_or("").to_owned(),
    }
}

/// Reads every Flux image object among `items` into `config`.
pub(super) fn read(items: &[Resource<'_>], config: &mut Config, errors: &mut Vec<ConfigError>) {
    let mut repositories: HashMap<PolicyRef, RepositorySpec> = HashMap::new();
    for resource in items.iter().filter(|r| flux_kind(r) == Some("ImageRepository")) {
        let object = resource.describe();
        match read_spec::<RepositorySpec>(resource, &object) {
            Ok(spec) => {
                Config::interval(spec.interval.as_deref(), || format!("{object}: spec.interval"), errors);
                repositories.insert(reference(resource), spec);
            }
            Err(error) => errors.push(error),
        }
    }
    for resource in items.iter().filter(|r| flux_kind(r) == Some("ImagePolicy")) {
        let object = resource.describe();
        let spec = match read_spec::<PolicySpecFlux>(resource, &object) {
            Ok(spec) => spec,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let policy = reference(resource);
        let repository_ref = PolicyRef {
            namespace: spec.image_repository_ref.namespace.unwrap_or_else(|| policy.namespace.clone()),
            name: spec.image_repository_ref.name,
        };
        let Some(repository) = repositories.get(&repository_ref) else {
            errors.push(ConfigError::new(
                format!("{object}: spec.imageRepositoryRef"),
                format!("no ImageRepository `{repository_ref}` among the resources"),
            ));
            continue;
        };
        let rule = match spec.policy.rule() {
            Ok(rule) => rule,
            Err(message) => {
                errors.push(ConfigError::new(format!("{object}: spec.policy"), message));
                continue;
            }
        };
        if repository.insecure
            && let Ok(parsed) = crate::image::parse_repository(&repository.image)
        {
            config.set_insecure(&parsed.host);
        }
        let input = PolicyInput {
            reference: policy,
            image: repository.image.clone(),
            spec: policy_spec(rule, spec.filter_tags, repository.exclusion_list.clone()),
            digest_reflection: spec.digest_reflection_policy,
        };
        // The shorter of the two intervals: Flux would see a change after either.
        // The repository's interval was checked when it was read.
        let interval = [
            Config::interval(spec.interval.as_deref(), || format!("{object}: spec.interval"), errors),
            repository.interval.as_deref().and_then(|text| crate::registry::parse_duration(text).ok()),
        ]
        .into_iter()
        .flatten()
        .min();
        let places = Places {
            policy: format!("{object}: spec."),
            repository: format!("ImageRepository {}/{}: spec.", repository_ref.namespace, repository_ref.name),
            image: format!("ImageRepository {}/{}: spec.image", repository_ref.namespace, repository_ref.name),
            field_name: flux_field_name,
        };
        if let Some(policy) = config.add_policy(input, &places, errors) {
            policy.interval = interval;
        }
    }
}
