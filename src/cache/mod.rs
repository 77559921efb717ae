//! The cache of registry answers shared by renders: tag lists and manifest digests, kept on
//! disk and, for a fleet of renderers, in Redis.
//!
//! A render-time resolver runs on every `kustomize build`, kpt render and ArgoCD refresh; without
//! a cache each one would ask the registry again and run into rate limits. Entries are keyed by
//! registry, repository and credential identity (a slow hash of the credential, never the
//! credential itself), so answers are never shared between credentials. Each entry records when
//! it was fetched and every reader applies its own time to live: the `interval` of the policy
//! that asks (Flux's `spec.interval`), one minute by default.
//!
//! The layers are tried in order: the local disk ([`DiskCache`]), then Redis ([`Redis`]), then
//! the registry. A fresh answer is written to both. With Redis, one renderer fetches while the
//! others wait briefly for its answer (`SET NX` lock with an expiry). Redis being down, or the
//! disk being read-only, never fails a render: it becomes one warning result, and the run goes
//! on with what still works. `--offline` answers only from the cache, whatever the entries'
//! age, and fails naming the repository on a miss; `--refresh` skips reading.

mod disk;
mod entry;
mod error;
mod key;
mod layered;
mod redis;
mod settings;
mod stats;

pub use disk::DiskCache;
pub use entry::{CacheValue, Entry};
pub use error::CacheError;
pub use key::CacheKey;
pub use layered::Cache;
pub use redis::{Redis, RedisUrl};
pub use settings::{
    CACHE_DIR_ENV, CacheOptions, CacheSettings, CacheSpec, DEFAULT_TTL, OFFLINE_ENV, REDIS_URL_ENV, REFRESH_ENV,
    default_dir,
};
pub use stats::{CacheCounts, cache_counts};
