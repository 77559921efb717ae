//! The cache a run resolves through: disk first, then Redis, then the registry, with one
//! fetch per entry across a fleet.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::disk::Lookup;
use super::entry::now_millis;
use super::stats::{COUNTERS, Event};
use super::{CacheError, CacheKey, CacheSettings, CacheValue, DiskCache, Entry, Redis};

/// What an offline lookup without an entry fails with; the caller says what was looked up.
const OFFLINE_MISS: &str =
    "not in the cache, and offline mode (--offline, IMGPOLICY_OFFLINE) forbids asking the registry";
/// How long one renderer may hold the refresh lock of an entry before others may take it.
const LOCK_TTL: Duration = Duration::from_secs(15);
/// How long others wait for the lock holder's answer before fetching themselves.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// How often a waiting renderer looks for the answer.
const POLL: Duration = Duration::from_millis(20);

/// The cache of one run: the layers its settings enable, and what went wrong with them.
///
/// Lookups never fail because of the cache itself: a layer that fails is reported once through
/// [`Cache::warnings`] and left out for the rest of the run.
#[derive(Debug)]
pub struct Cache {
    disk: Option<DiskCache>,
    redis: Option<Redis>,
    offline: bool,
    refresh: bool,
    default_ttl: Duration,
    disk_failed: AtomicBool,
    redis_failed: AtomicBool,
    warnings: Mutex<Vec<String>>,
}

/// What trying to become the one renderer that fetches an entry gave.
enum Claim<T> {
    /// We hold the lock with this token: fetch, store, unlock.
    Locked(String),
    /// Another renderer fetched it meanwhile.
    Answered(T),
    /// No coordination: no Redis, Redis failed, or waiting took too long.
    Alone,
}

impl Cache {
    /// The cache `settings` describe. Nothing is opened yet: the directory is created on the
    /// first write and Redis connected on the first lookup.
    pub fn new(settings: &CacheSettings) -> Self {
        Self {
            disk: settings.dir.as_deref().map(DiskCache::new),
            redis: settings.redis.clone().map(Redis::new),
            offline: settings.offline,
            refresh: settings.refresh,
            default_ttl: settings.default_ttl,
            disk_failed: AtomicBool::new(false),
            redis_failed: AtomicBool::new(false),
            warnings: Mutex::default(),
        }
    }

    /// A cache that holds nothing: every lookup is fetched.
    pub fn disabled() -> Self {
        Self::new(&CacheSettings::default())
    }

    /// The time to live of entries no policy sets one for.
    pub fn default_ttl(&self) -> Duration {
        self.default_ttl
    }

    /// Whether lookups may only be answered from the cache.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The problems met so far, each once: an unwritable cache directory, Redis unavailable.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// `key`'s value: from the cache if an entry is younger than `ttl` (of any age when
    /// offline), else from `fetch`, whose answer is stored. Failed fetches are not stored.
    ///
    /// # Errors
    /// `fetch`'s error; offline, a miss (which the caller should say what was looked up).
    pub async fn get_or_fetch<T, F, Fut>(&self, key: &CacheKey, ttl: Duration, fetch: F) -> Result<T, String>
    where
        T: CacheValue,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        if !self.refresh
            && let Some(value) = self.lookup(key, ttl).await
        {
            return Ok(value);
        }
        if self.offline {
            COUNTERS.count(Event::Miss);
            return Err(OFFLINE_MISS.to_owned());
        }
        let claim = if self.refresh { Claim::Alone } else { self.claim(key, ttl).await };
        let token = match claim {
            Claim::Answered(value) => return Ok(value),
            Claim::Locked(token) => Some(token),
            Claim::Alone => None,
        };
        COUNTERS.count(Event::Miss);
        let fetched = fetch().await;
        if let Ok(value) = &fetched {
            self.store(key, &Entry::new(key, value.clone()).encode(), ttl).await;
        }
        if let (Some(token), Some(redis)) = (token, self.live_redis()) {
            let unlocked = redis.unlock(&lock_key(key), &token).await;
            self.check_redis(unlocked);
        }
        fetched
    }

    /// A usable entry from the disk, else from Redis (then copied to the disk).
    async fn lookup<T: CacheValue>(&self, key: &CacheKey, ttl: Duration) -> Option<T> {
        let usable = |entry: &Entry<T>| self.offline || entry.is_fresh(ttl);
        if let Some(disk) = &self.disk {
            match disk.read::<T>(key) {
                Lookup::Found(entry) if usable(&entry) => {
                    COUNTERS.count(Event::DiskHit);
                    return Some(entry.value);
                }
                Lookup::Found(_) => COUNTERS.count(Event::Expired),
                Lookup::Corrupt => COUNTERS.count(Event::Corrupt),
                Lookup::Missing => {}
            }
        }
        let (entry, bytes) = self.redis_entry::<T>(key).await?;
        if !usable(&entry) {
            COUNTERS.count(Event::Expired);
            return None;
        }
        COUNTERS.count(Event::RedisHit);
        self.store_on_disk(key, &bytes);
        Some(entry.value)
    }

    /// `key`'s entry in Redis, if Redis is up and holds a well-formed one, with its bytes
    /// (copied to the disk as they are).
    async fn redis_entry<T: CacheValue>(&self, key: &CacheKey) -> Option<(Entry<T>, Vec<u8>)> {
        let redis = self.live_redis()?;
        let bytes = self.check_redis(redis.get(&value_key(key)).await)??;
        let Some(entry) = Entry::decode(&bytes, key) else {
            COUNTERS.count(Event::Corrupt);
            return None;
        };
        Some((entry, bytes))
    }

    /// Takes the fleet-wide lock of `key`, or waits for whoever holds it to store the answer.
    async fn claim<T: CacheValue>(&self, key: &CacheKey, ttl: Duration) -> Claim<T> {
        let Some(redis) = self.live_redis() else { return Claim::Alone };
        let token = lock_token();
        let started = Instant::now();
        let mut waited = false;
        loop {
            match self.check_redis(redis.lock(&lock_key(key), &token, LOCK_TTL).await) {
                // Whoever held the lock before may have stored the answer since our lookup.
                Some(true) => {
                    return match self.fresh_in_redis(key, ttl, waited).await {
                        Some(value) => {
                            let unlocked = redis.unlock(&lock_key(key), &token).await;
                            self.check_redis(unlocked);
                            Claim::Answered(value)
                        }
                        None => Claim::Locked(token),
                    };
                }
                Some(false) => {}
                None => return Claim::Alone,
            }
            if started.elapsed() >= LOCK_WAIT {
                return Claim::Alone;
            }
            tokio::time::sleep(POLL).await;
            waited = true;
            if let Some(value) = self.fresh_in_redis(key, ttl, waited).await {
                return Claim::Answered(value);
            }
        }
    }

    /// A fresh entry from Redis, counted as a hit (and a wait, when `waited`) and copied to
    /// the disk.
    async fn fresh_in_redis<T: CacheValue>(&self, key: &CacheKey, ttl: Duration, waited: bool) -> Option<T> {
        let (entry, bytes) = self.redis_entry::<T>(key).await.filter(|(entry, _)| entry.is_fresh(ttl))?;
        if waited {
            COUNTERS.count(Event::Waited);
        }
        COUNTERS.count(Event::RedisHit);
        self.store_on_disk(key, &bytes);
        Some(entry.value)
    }

    /// Writes a fetched answer, encoded, to every layer.
    async fn store(&self, key: &CacheKey, bytes: &[u8], ttl: Duration) {
        self.store_on_disk(key, bytes);
        if let Some(redis) = self.live_redis() {
            let stored = redis.set_ex(&value_key(key), bytes, ttl).await;
            self.check_redis(stored);
        }
    }

    /// Writes an encoded entry to the disk, unless the disk has failed in this run.
    fn store_on_disk(&self, key: &CacheKey, bytes: &[u8]) {
        let Some(disk) = &self.disk else { return };
        if self.disk_failed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(error) = disk.write_encoded(key, bytes)
            && !self.disk_failed.swap(true, Ordering::Relaxed)
        {
            self.warn(format!(
                "{error}; answers of this run are not cached on disk (set --cache-dir or IMGPOLICY_CACHE_DIR)"
            ));
        }
    }

    /// Redis, unless it is not configured or has failed in this run.
    fn live_redis(&self) -> Option<&Redis> {
        self.redis.as_ref().filter(|_| !self.redis_failed.load(Ordering::Relaxed))
    }

    /// The result of a Redis command, or `None` after reporting its failure (once) and
    /// turning Redis off for the rest of the run.
    fn check_redis<T>(&self, result: Result<T, CacheError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                COUNTERS.count(Event::RedisError);
                if !self.redis_failed.swap(true, Ordering::Relaxed) {
                    self.warn(format!("fleet cache unavailable, using the local cache only: {error}"));
                }
                None
            }
        }
    }

    fn warn(&self, message: String) {
        self.warnings.lock().unwrap_or_else(PoisonError::into_inner).push(message);
    }
}

/// The Redis key of `key`'s value.
fn value_key(key: &CacheKey) -> String {
    format!("imgpolicy:v1:{}", key.hash())
}

/// The Redis key of `key`'s refresh lock.
fn lock_key(key: &CacheKey) -> String {
    format!("imgpolicy:v1:lock:{}", key.hash())
}

/// A token unique to this lookup, so a renderer only ever releases its own lock.
fn lock_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}-{}", std::process::id(), now_millis(), NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Repository;
    use std::cell::Cell;

    fn key() -> CacheKey {
        CacheKey::tags(&Repository { host: "ghcr.io".into(), path: "org/app".into() }, "anonymous")
    }

    fn settings(dir: &std::path::Path) -> CacheSettings {
        CacheSettings { dir: Some(dir.to_path_buf()), ..CacheSettings::default() }
    }

    fn run<F: Future>(future: F) -> F::Output {
        crate::registry::block_on(future).expect("runtime")
    }

    #[test]
    fn fetches_once_then_hits_until_expiry() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = Cache::new(&settings(dir.path()));
        let fetches = Cell::new(0);
        let fetch = || {
            fetches.set(fetches.get() + 1);
            async { Ok(vec!["1.0.0".to_owned()]) }
        };
        let ttl = Duration::from_secs(60);
        assert_eq!(run(cache.get_or_fetch(&key(), ttl, fetch)), Ok(vec!["1.0.0".to_owned()]));
        assert_eq!(run(cache.get_or_fetch(&key(), ttl, fetch)), Ok(vec!["1.0.0".to_owned()]));
        assert_eq!(fetches.get(), 1);
        // A reader with a shorter time to live sees the entry as expired.
        assert_eq!(run(cache.get_or_fetch(&key(), Duration::ZERO, fetch)), Ok(vec!["1.0.0".to_owned()]));
        assert_eq!(fetches.get(), 2);
        assert!(cache.warnings().is_empty());
    }

    #[test]
    fn failures_are_not_stored_and_offline_misses_name_the_subject() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = Cache::new(&settings(dir.path()));
        let failed = run(cache.get_or_fetch::<Vec<String>, _, _>(&key(), DEFAULT, || async { Err("down".to_owned()) }));
        assert_eq!(failed, Err("down".to_owned()));
        let offline = Cache::new(&CacheSettings { offline: true, ..settings(dir.path()) });
        let missed = run(offline.get_or_fetch::<Vec<String>, _, _>(&key(), DEFAULT, || async { Ok(Vec::new()) }));
        assert_eq!(missed, Err(OFFLINE_MISS.to_owned()));
    }

    const DEFAULT: Duration = super::super::DEFAULT_TTL;

    #[test]
    fn unwritable_directory_warns_once_and_still_answers() {
        let dir = tempfile::tempdir().expect("dir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").expect("file");
        let cache = Cache::new(&settings(&blocker));
        for _ in 0..2 {
            let value = run(cache.get_or_fetch(&key(), DEFAULT, || async { Ok(vec!["1".to_owned()]) }));
            assert_eq!(value, Ok(vec!["1".to_owned()]));
        }
        assert_eq!(cache.warnings().len(), 1, "{:?}", cache.warnings());
    }
}
