//! The resolved configuration the engine works from.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::cache::CacheSpec;
use crate::image::{ImageRef, Repository, parse_repository};
use crate::policy::{PolicySpec, RuleSpec, TagPolicy};
use crate::registry::{HostSettings, Platform};

use super::ConfigError;

/// Default namespace of a policy, as in Flux's docs and examples.
pub(crate) const DEFAULT_NAMESPACE: &str = "flux-system";

/// `<namespace>:<name>`, how markers name a policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyRef {
    /// The policy's namespace.
    pub namespace: String,
    /// The policy's name.
    pub name: String,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.name)
    }
}

/// Whether the digest of the chosen tag is written too (Flux's `digestReflectionPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum DigestReflection {
    /// Never write a digest (the default).
    #[default]
    Never,
    /// Keep a digest already written when the tag is unchanged; otherwise look it up.
    IfNotPresent,
    /// Look the digest up on every run.
    Always,
}

/// What a failed resolution does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnError {
    /// Report an error, exit 1, and edit nothing.
    #[default]
    Fail,
    /// Report a warning and leave that value as it is; other values are still updated.
    Keep,
}

/// One image policy, compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Namespace and name.
    pub reference: PolicyRef,
    /// The image repository as written in the config (what a `:name` marker writes).
    pub image: String,
    /// The normalised repository tags are listed from.
    pub repository: Repository,
    /// How a tag is chosen.
    pub tags: TagPolicy,
    /// The rule in words, for messages: ``semver range `>=1.0.0` ``.
    pub rule: String,
    /// Whether a digest is written.
    pub digest_reflection: DigestReflection,
    /// The platform whose manifest digest is written; `None`: the index digest.
    pub platform: Option<Platform>,
    /// How long cached registry answers stay fresh for this policy (Flux's `spec.interval`);
    /// `None`: the cache's default.
    pub interval: Option<Duration>,
}

/// Everything the engine needs to know besides the resources.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Policies by reference.
    pub policies: BTreeMap<PolicyRef, Policy>,
    /// Per-registry settings by host.
    pub registries: HashMap<String, HostSettings>,
    /// How long the registry work of a run may take in all (`spec.timeout`); `None`: the default.
    pub timeout: Option<Duration>,
    /// How many repositories are resolved at once (`spec.concurrency`); `None`: the default.
    pub concurrency: Option<usize>,
    /// Update every container image of a policy's repository, markers or not.
    pub match_images: bool,
    /// Give every container image without a digest the digest of its current tag.
    pub pin_digests: bool,
    /// Image prefixes `pin_digests` leaves alone, compared with the image as written and
    /// normalised (`docker.io/library/nginx`).
    pub pin_digests_exclude: Vec<String>,
    /// What a failed resolution does.
    pub on_error: OnError,
    /// `spec.cache`: where answers are cached, and for how long by default.
    pub cache: CacheSpec,
}

/// Where a policy's fields were written, for error messages.
pub(super) struct Places {
    /// Prefix of the policy's own fields, ending in `.` (`ImagePolicy flux-system/app: spec.`).
    pub(super) policy: String,
    /// Prefix of the repository's fields (`exclusionList`), ending in `.`.
    pub(super) repository: String,
    /// The image field itself.
    pub(super) image: String,
    /// How a policy field (`policy.semver.range`) is named in this source.
    pub(super) field_name: fn(&'static str) -> &'static str,
}

impl Places {
    /// Every field under one prefix (ending in `.`), as in an ImagePolicyConfig entry or a ConfigMap.
    pub(super) fn in_one_object(prefix: String, field_name: fn(&'static str) -> &'static str) -> Self {
        Self { image: format!("{prefix}image"), repository: prefix.clone(), policy: prefix, field_name }
    }
}

/// Fields named as in Flux's ImagePolicy.
pub(super) fn flux_field_name(field: &'static str) -> &'static str {
    field
}

/// The parts of a policy every source provides, before compiling.
pub(super) struct PolicyInput {
    pub(super) reference: PolicyRef,
    pub(super) image: String,
    pub(super) spec: PolicySpec,
    pub(super) digest_reflection: DigestReflection,
}

impl Config {
    /// Compiles and adds a policy; errors are reported at `places`. Returns the policy added,
    /// for source-specific fields.
    pub(super) fn add_policy(
        &mut self,
        input: PolicyInput,
        places: &Places,
        errors: &mut Vec<ConfigError>,
    ) -> Option<&mut Policy> {
        let repository = match check_image(&input.image) {
            Ok(repository) => repository,
            Err(message) => {
                errors.push(ConfigError::new(places.image.clone(), message));
                return None;
            }
        };
        let tags = match TagPolicy::compile(&input.spec) {
            Ok(tags) => tags,
            Err(invalid) => {
                let prefix = if invalid.field == "exclusionList" { &places.repository } else { &places.policy };
                errors
                    .push(ConfigError::new(format!("{prefix}{}", (places.field_name)(invalid.field)), invalid.message));
                return None;
            }
        };
        if self.policies.contains_key(&input.reference) {
            errors.push(ConfigError::new(
                places.policy.trim_end_matches('.'),
                format!("policy `{}` is defined twice", input.reference),
            ));
            return None;
        }
        let rule = describe(&input.spec.rule);
        let policy = Policy {
            reference: input.reference.clone(),
            image: input.image,
            repository,
            tags,
            rule,
            digest_reflection: input.digest_reflection,
            platform: None,
            interval: None,
        };
        Some(self.policies.entry(input.reference).or_insert(policy))
    }

    /// Parses an `interval` field (`5m`, `1m30s`) found at `place`.
    pub(super) fn interval(
        text: Option<&str>,
        place: impl Fn() -> String,
        errors: &mut Vec<ConfigError>,
    ) -> Option<Duration> {
        match crate::registry::parse_duration(text?) {
            Ok(interval) => Some(interval),
            Err(message) => {
                errors.push(ConfigError::new(place(), message));
                None
            }
        }
    }

    /// Marks `host` as plain HTTP.
    pub(super) fn set_insecure(&mut self, host: &str) {
        self.registries.entry(host.to_owned()).or_default().insecure = true;
    }
}

/// A rule in words.
fn describe(rule: &RuleSpec) -> String {
    match rule {
        RuleSpec::Semver { range } => format!("semver range `{range}`"),
        RuleSpec::Alphabetical { order } => format!("alphabetical order `{}`", order.as_deref().unwrap_or("asc")),
        RuleSpec::Numerical { order } => format!("numerical order `{}`", order.as_deref().unwrap_or("asc")),
    }
}

/// A policy's image must be a repository: no tag, no digest.
fn check_image(image: &str) -> Result<Repository, String> {
    let parsed = ImageRef::parse(image).map_err(|error| error.to_string())?;
    if parsed.tag.is_some() || parsed.digest.is_some() {
        return Err(format!("`{image}` must be a repository, without tag or digest"));
    }
    parse_repository(&parsed.name).map_err(|error| error.to_string())
}
