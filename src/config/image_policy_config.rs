//! The `ImagePolicyConfig` functionConfig (DESIGN §2).

use serde::Deserialize;

use crate::cache::RedisUrl;
use crate::policy::{PolicySpec, RuleSpec};
use crate::registry::{CredentialSource, HostSettings, Platform, parse_duration};
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
    /// How long the registry work may take in all: `90s`, `5m`.
    timeout: Option<String>,
    /// How many repositories are resolved at once.
    concurrency: Option<usize>,
    /// Where registry answers are cached.
    cache: Option<CacheEntry>,
}

/// `spec.cache`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CacheEntry {
    /// The cache directory.
    dir: Option<std::path::PathBuf>,
    /// `redis://HOST[:PORT][/DB]`: a cache shared by a fleet of renderers.
    redis: Option<String>,
    /// How long answers stay fresh when no policy says: `1m`, `30s`.
    interval: Option<String>,
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
    /// `os/arch[/variant]`: write that platform's manifest digest instead of the index's.
    platform: Option<String>,
    /// How long cached registry answers stay fresh for this policy: `5m`, `30s`.
    interval: Option<String>,
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Registry {
    host: String,
    #[serde(default)]
    insecure: bool,
    ca_file: Option<std::path::PathBuf>,
    page_size: Option<u32>,
    requests_per_second: Option<f64>,
    #[serde(default)]
    credentials: Credentials,
}

/// `registries[].credentials`.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
enum Credentials {
    #[default]
    Auto,
    Google,
    Anonymous,
}

impl From<Credentials> for CredentialSource {
    fn from(credentials: Credentials) -> Self {
        match credentials {
            Credentials::Auto => Self::Auto,
            Credentials::Google => Self::Google,
            Credentials::Anonymous => Self::Anonymous,
        }
    }
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
    if let Some(timeout) = &spec.timeout {
        match parse_duration(timeout) {
            Ok(timeout) if !timeout.is_zero() => config.timeout = Some(timeout),
            Ok(_) => errors.push(ConfigError::new(format!("{object}: spec.timeout"), "must be more than zero")),
            Err(message) => errors.push(ConfigError::new(format!("{object}: spec.timeout"), message)),
        }
    }
    match spec.concurrency {
        Some(0) => errors.push(ConfigError::new(format!("{object}: spec.concurrency"), "must be at least 1")),
        Some(n) => config.concurrency = Some(n),
        None => {}
    }
    if let Some(cache) = spec.cache {
        read_cache(cache, &object, config, errors);
    }
    for (index, registry) in spec.registries.into_iter().enumerate() {
        let place = |field: &str| format!("{object}: spec.registries[{index}].{field}");
        if registry.page_size == Some(0) {
            errors.push(ConfigError::new(place("pageSize"), "must be at least 1"));
        }
        if registry.requests_per_second.is_some_and(|rate| !(rate.is_finite() && rate > 0.0)) {
            errors.push(ConfigError::new(place("requestsPerSecond"), "must be a number above zero"));
        }
        let settings: &mut HostSettings = config.registries.entry(registry.host).or_default();
        settings.insecure |= registry.insecure;
        settings.ca_file = registry.ca_file.or(settings.ca_file.take());
        settings.page_size = registry.page_size.or(settings.page_size);
        settings.requests_per_second = registry.requests_per_second.or(settings.requests_per_second);
        settings.credentials = registry.credentials.into();
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
        let platform = match entry.platform.as_deref().map(str::parse::<Platform>).transpose() {
            Ok(platform) => platform,
            Err(error) => {
                errors.push(ConfigError::new(format!("{place}platform"), error.to_string()));
                continue;
            }
        };
        let interval = Config::interval(entry.interval.as_deref(), || format!("{place}interval"), errors);
        let input = PolicyInput {
            reference: PolicyRef {
                namespace: entry.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
                name: entry.name,
            },
            image: entry.image,
            spec: policy_spec(rule, entry.filter_tags, entry.exclusion_list),
            digest_reflection: entry.digest_reflection_policy,
        };
        if let Some(policy) = config.add_policy(input, &Places::in_one_object(place, flux_field_name), errors) {
            policy.platform = platform;
            policy.interval = interval;
        }
    }
}

/// Reads `spec.cache` into `config`.
fn read_cache(cache: CacheEntry, object: &str, config: &mut Config, errors: &mut Vec<ConfigError>) {
    let place = |field: &str| format!("{object}: spec.cache.{field}");
    config.cache.dir = cache.dir;
    match cache.redis.as_deref().map(str::parse::<RedisUrl>) {
        Some(Ok(url)) => config.cache.redis = Some(url),
        Some(Err(error)) => errors.push(ConfigError::new(place("redis"), error.to_string())),
        None => {}
    }
    config.cache.interval = Config::interval(cache.interval.as_deref(), || place("interval"), errors);
}
