//! Resolution: from targets to edits and results, asking the registry as little as possible.
//!
//! Each repository is listed once however many targets use it, each distinct tag's digest
//! (per platform) is looked up once, and requests to different repositories run concurrently,
//! at most `spec.concurrency` at a time, all within one deadline (`spec.timeout`). Only then
//! are values computed, in target order, so results are deterministic.
//!
//! Every tag listing and digest goes through the [`Cache`], with the time to live of the
//! policies that need it: the shortest `interval` among them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cache::{Cache, CacheKey};
use crate::config::{Config, DigestReflection, OnError, Policy, PolicyRef};
use crate::image::{ImageRef, Repository, is_valid_digest, is_valid_tag};
use crate::marker::{Found, Origin, Part, Site, Target};
use crate::policy::SelectError;
use crate::registry::{Platform, RegistryClient};
use crate::resource::ResourceIdentity;
use crate::results::{FnResult, Severity};
use crate::yaml::{Edit, Edits, render_scalar};

/// An edit of the source that holds item number `item`.
#[derive(Debug, Clone)]
pub struct ItemEdit {
    /// The item's index among the run's items.
    pub item: usize,
    /// The scalar replacement, in the byte offsets of the item's source.
    pub edit: Edit,
}

/// What resolving produced.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Scalar edits to apply (empty when a failure under `onError: fail` voided them).
    pub edits: Vec<ItemEdit>,
    /// Results in target order: changes, warnings, errors.
    pub results: Vec<FnResult>,
}

impl Resolution {
    /// The edits of the items `in_source` accepts, as one set for their shared source.
    pub fn edits_for(&self, in_source: impl Fn(usize) -> bool) -> Edits {
        let mut edits = Edits::new();
        for item_edit in self.edits.iter().filter(|e| in_source(e.item)) {
            edits.push(item_edit.edit.clone());
        }
        edits
    }

    /// Records one scalar's outcome: an edit and an `info` result when the value changes; on
    /// failure an `error`, or under `onError: keep` a `warning` and the value left as it is.
    fn record(
        &mut self,
        item: usize,
        site: &Site,
        outcome: Result<String, String>,
        on_error: OnError,
        at: impl Fn(Severity, String) -> FnResult,
    ) {
        match outcome {
            Ok(value) => {
                let Some(scalar) = &site.scalar else { return };
                if value != scalar.text() {
                    let edit = Edit { range: site.range.clone(), text: render_scalar(scalar, &value) };
                    self.edits.push(ItemEdit { item, edit });
                    self.results.push(at(Severity::Info, format!("{} -> {value}", scalar.text())));
                }
            }
            Err(message) => match on_error {
                OnError::Fail => self.results.push(at(Severity::Error, message)),
                OnError::Keep => self.results.push(at(Severity::Warning, format!("{message}; value left as it is"))),
            },
        }
    }

    /// Whether an error result was reported.
    pub fn failed(&self) -> bool {
        self.results.iter().any(|result| result.severity == Severity::Error)
    }
}

/// The tag a policy chose, or why it could not.
type Choice = Result<String, String>;

/// A digest lookup: repository, tag, and the platform whose manifest is wanted.
type DigestKey = (Repository, String, Option<Platform>);

/// How long the registry work of a run may take when `spec.timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// How many repositories are resolved at once when `spec.concurrency` is not set.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Resolves what `found` asks against `config`, asking `cache`, then `client`.
pub async fn resolve(found: &Found, config: &Config, client: &RegistryClient, cache: &Arc<Cache>) -> Resolution {
    let targets = found.targets.as_slice();
    let mut resolution = Resolution::default();
    let client = &client.with_deadline(config.timeout.unwrap_or(DEFAULT_TIMEOUT));
    let limit = Arc::new(Semaphore::new(config.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1)));
    let policies: BTreeMap<&PolicyRef, &Policy> =
        targets.iter().filter_map(|target| config.policies.get_key_value(&target.marker.policy)).collect();
    let mut ttls: BTreeMap<Repository, Duration> = BTreeMap::new();
    for policy in policies.values() {
        let ttl = policy.interval.unwrap_or(cache.default_ttl());
        keep_shortest(&mut ttls, policy.repository.clone(), ttl);
    }
    // Every repository up front, so that a token-auth registry gives one token for all.
    let pins: Vec<Option<Repository>> = found.pins.iter().map(|pin| pin.image.repository().ok()).collect();
    for repository in ttls.keys().chain(pins.iter().flatten()) {
        client.announce(&repository.host, &repository.path);
    }
    let tags = list_tags(client, cache, &limit, &ttls).await;
    let choices: BTreeMap<&PolicyRef, Choice> =
        policies.iter().map(|(reference, policy)| (*reference, choose(policy, tags.get(&policy.repository)))).collect();

    let plans: Vec<Option<Plan>> = targets.iter().map(|target| plan(targets, target, config, &choices)).collect();
    let mut wanted: BTreeMap<DigestKey, Duration> = BTreeMap::new();
    let digest_lookups = plans.iter().flatten().filter(|plan| plan.needs_digest).map(digest_key).chain(
        found.pins.iter().zip(&pins).filter_map(|(pin, repository)| Some((repository.clone()?, pin.tag.clone(), None))),
    );
    for key in digest_lookups {
        let ttl = ttls.get(&key.0).copied().unwrap_or(cache.default_ttl());
        keep_shortest(&mut wanted, key, ttl);
    }
    let digests = manifest_digests(client, cache, &limit, wanted).await;

    // `select` records the identity of every item with a target or a pin.
    let unknown = ResourceIdentity::default();
    for (target, plan) in targets.iter().zip(&plans) {
        let resource = found.resources.get(&target.item).unwrap_or(&unknown);
        let at = |severity, message: String| FnResult::at(severity, message, target.item, resource, Some(&target.path));
        let Some(policy) = config.policies.get(&target.marker.policy) else {
            resolution
                .results
                .push(at(Severity::Warning, format!("no policy `{}`; value left as it is", target.marker.policy)));
            continue;
        };
        let outcome = match (plan, &choices[&target.marker.policy]) {
            (_, Err(message)) => Err(message.clone()),
            (None, Ok(_)) => continue,
            (Some(plan), Ok(_)) => new_value(target, plan, &digests),
        };
        let outcome = outcome.map_err(|message| format!("policy `{}`: {message}", policy.reference));
        resolution.record(target.item, &target.site, outcome, config.on_error, at);
    }
    for (pin, repository) in found.pins.iter().zip(&pins) {
        let resource = found.resources.get(&pin.item).unwrap_or(&unknown);
        let at = |severity, message: String| FnResult::at(severity, message, pin.item, resource, Some(&pin.path));
        let digest =
            repository.as_ref().and_then(|repository| digests.get(&(repository.clone(), pin.tag.clone(), None)));
        let outcome = digest
            .cloned()
            .unwrap_or_else(|| Err(format!("internal error: no digest lookup for `{}`", pin.image)))
            .map(|digest| ImageRef { digest: Some(digest), ..pin.image.clone() }.to_string())
            .map_err(|message| format!("pinning `{}`: {message}", pin.image));
        resolution.record(pin.item, &pin.site, outcome, config.on_error, at);
    }
    // Under `onError: fail`, one failure voids every edit: the items come back unchanged.
    if resolution.failed() {
        resolution.edits.clear();
        resolution.results.retain(|result| result.severity != Severity::Info);
    }
    resolution
}

/// What one target needs, decided before digests are fetched.
struct Plan<'c> {
    policy: &'c Policy,
    tag: String,
    /// The digest already written, kept under `IfNotPresent`.
    kept_digest: Option<String>,
    needs_digest: bool,
}

fn plan<'c>(
    targets: &[Target],
    target: &Target,
    config: &'c Config,
    choices: &BTreeMap<&PolicyRef, Choice>,
) -> Option<Plan<'c>> {
    let policy = config.policies.get(&target.marker.policy)?;
    let tag = choices.get(&target.marker.policy)?.as_ref().ok()?.clone();
    let current = target.site.text();
    let kept_digest = match (target.marker.part, policy.digest_reflection) {
        (Part::Full, DigestReflection::IfNotPresent) => ImageRef::parse(current)
            .ok()
            .filter(|image| image.tag.as_deref() == Some(tag.as_str()))
            .and_then(|image| image.digest),
        (Part::Digest, DigestReflection::IfNotPresent)
            if is_valid_digest(current) && !tag_changes(targets, target, &tag) =>
        {
            Some(current.to_owned())
        }
        _ => None,
    };
    let needs_digest = kept_digest.is_none()
        && match target.marker.part {
            Part::Digest => true,
            Part::Full => policy.digest_reflection != DigestReflection::Never,
            Part::Tag | Part::Name => false,
        };
    Some(Plan { policy, tag, kept_digest, needs_digest })
}

/// Whether another target of the same policy in the same resource is about to change its tag:
/// then a digest kept under `IfNotPresent` would belong to the old tag.
fn tag_changes(targets: &[Target], digest_target: &Target, tag: &str) -> bool {
    targets.iter().filter(|t| t.item == digest_target.item && t.marker.policy == digest_target.marker.policy).any(|t| {
        let current = t.site.text();
        match t.marker.part {
            Part::Tag => current != tag,
            Part::Full => ImageRef::parse(current).ok().and_then(|image| image.tag).as_deref() != Some(tag),
            Part::Name | Part::Digest => false,
        }
    })
}

/// What digest `plan` needs looked up.
fn digest_key(plan: &Plan<'_>) -> DigestKey {
    (plan.policy.repository.clone(), plan.tag.clone(), plan.policy.platform.clone())
}

fn new_value(
    target: &Target,
    plan: &Plan<'_>,
    digests: &HashMap<DigestKey, Result<String, String>>,
) -> Result<String, String> {
    let digest = match (&plan.kept_digest, plan.needs_digest) {
        (Some(kept), _) => Some(kept.clone()),
        (None, true) => {
            let key = digest_key(plan);
            Some(
                digests
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| Err(format!("internal error: no digest lookup for `{}:{}`", key.0, key.1)))?,
            )
        }
        (None, false) => None,
    };
    Ok(match target.marker.part {
        Part::Tag => plan.tag.clone(),
        Part::Name => plan.policy.image.clone(),
        Part::Digest => digest.unwrap_or_default(),
        Part::Full => {
            let current = ImageRef::parse(target.site.text()).ok();
            let name = match (target.origin, current) {
                (Origin::Container, Some(current)) => current.name,
                _ => plan.policy.image.clone(),
            };
            ImageRef { name, tag: Some(plan.tag.clone()), digest }.to_string()
        }
    })
}

fn choose(policy: &Policy, tags: Option<&Result<Vec<String>, String>>) -> Choice {
    let tags = tags.ok_or_else(|| format!("internal error: no tag listing for `{}`", policy.repository))?;
    let tags = tags.as_ref().map_err(Clone::clone)?;
    let valid: Vec<String> = tags.iter().filter(|tag| is_valid_tag(tag)).cloned().collect();
    policy.tags.select(&valid).map(str::to_owned).map_err(|error| match error {
        SelectError::NoTags => {
            format!("no tags of `{}` left after exclusion and filtering ({} listed)", policy.repository, tags.len())
        }
        SelectError::NoMatch => {
            format!("no tag of `{}` matches {} ({} candidates)", policy.repository, policy.rule, valid.len())
        }
        SelectError::NotANumber { tag } => {
            format!("numerical policy: tag `{tag}` of `{}` is not a number", policy.repository)
        }
    })
}

/// Records `ttl` for `key`, unless a shorter one is recorded: an answer several policies need
/// stays fresh as long as the most demanding of them allows.
fn keep_shortest<K: Ord>(ttls: &mut BTreeMap<K, Duration>, key: K, ttl: Duration) {
    ttls.entry(key).and_modify(|shortest| *shortest = ttl.min(*shortest)).or_insert(ttl);
}

/// Lists the tags of each repository, from the cache when its entry is younger than the
/// repository's time to live.
async fn list_tags(
    client: &RegistryClient,
    cache: &Arc<Cache>,
    limit: &Arc<Semaphore>,
    repositories: &BTreeMap<Repository, Duration>,
) -> HashMap<Repository, Result<Vec<String>, String>> {
    let mut tasks = JoinSet::new();
    for (repository, &ttl) in repositories {
        let repository = repository.clone();
        let client = client.clone();
        let cache = Arc::clone(cache);
        let limit = Arc::clone(limit);
        tasks.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _permit = limit.acquire_owned().await;
            let failed = |error: &dyn std::error::Error| format!("listing tags of `{repository}`: {}", chain(error));
            let fetch =
                || async { client.list_tags(&repository.host, &repository.path).await.map_err(|error| failed(&error)) };
            let tags = match client.credential_identity(&repository.host).await {
                Ok(identity) => cache
                    .get_or_fetch(&CacheKey::tags(&repository, &identity), ttl, fetch)
                    .await
                    .map_err(|message| offline_context(&cache, message, || format!("listing tags of `{repository}`"))),
                Err(error) => Err(failed(&error)),
            };
            (repository, tags)
        });
    }
    collect(tasks).await
}

/// An offline miss said where it happened (online, errors come from the fetch, complete).
fn offline_context(cache: &Cache, message: String, what: impl FnOnce() -> String) -> String {
    if cache.is_offline() { format!("{}: {message}", what()) } else { message }
}

/// Looks up each digest, from the cache when its entry is younger than its time to live.
async fn manifest_digests(
    client: &RegistryClient,
    cache: &Arc<Cache>,
    limit: &Arc<Semaphore>,
    wanted: BTreeMap<DigestKey, Duration>,
) -> HashMap<DigestKey, Result<String, String>> {
    let mut tasks = JoinSet::new();
    for ((repository, tag, platform), ttl) in wanted {
        let client = client.clone();
        let cache = Arc::clone(cache);
        let limit = Arc::clone(limit);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let failed = |error: &dyn std::error::Error| {
                format!("looking up the digest of `{repository}:{tag}`: {}", chain(error))
            };
            let fetch = || async {
                let lookup = client.platform_digest(&repository.host, &repository.path, &tag, platform.as_ref()).await;
                match lookup {
                    Ok(digest) if is_valid_digest(&digest) => Ok(digest),
                    Ok(digest) => Err(format!(
                        "registry returned an invalid digest `{}` for `{repository}:{tag}`",
                        digest.escape_debug()
                    )),
                    Err(error) => Err(failed(&error)),
                }
            };
            let digest = match client.credential_identity(&repository.host).await {
                Ok(identity) => {
                    let key = CacheKey::digest(&repository, &tag, platform.as_ref(), &identity);
                    cache.get_or_fetch(&key, ttl, fetch).await.map_err(|message| {
                        offline_context(&cache, message, || format!("looking up the digest of `{repository}:{tag}`"))
                    })
                }
                Err(error) => Err(failed(&error)),
            };
            ((repository, tag, platform), digest)
        });
    }
    collect(tasks).await
}

/// `error` and its sources, joined by `: `, skipping a source its parent already quoted.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

async fn collect<K: Eq + std::hash::Hash + 'static, V: 'static>(mut tasks: JoinSet<(K, V)>) -> HashMap<K, V> {
    let mut out = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        // A task only fails to join if it panicked; there is no panic path in the tasks above.
        if let Ok((key, value)) = joined {
            out.insert(key, value);
        }
    }
    out
}
