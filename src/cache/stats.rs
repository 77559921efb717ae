//! Cache hits and misses of the process, for `--verbose`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// One counter per outcome.
pub(crate) struct Counters {
    disk_hits: AtomicU64,
    redis_hits: AtomicU64,
    misses: AtomicU64,
    expired: AtomicU64,
    corrupt: AtomicU64,
    waited: AtomicU64,
    redis_errors: AtomicU64,
}

/// The process-wide counts.
pub(crate) static COUNTERS: Counters = Counters {
    disk_hits: AtomicU64::new(0),
    redis_hits: AtomicU64::new(0),
    misses: AtomicU64::new(0),
    expired: AtomicU64::new(0),
    corrupt: AtomicU64::new(0),
    waited: AtomicU64::new(0),
    redis_errors: AtomicU64::new(0),
};

/// What a lookup ended with, or met on the way.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// Answered from the disk cache.
    DiskHit,
    /// Answered from Redis.
    RedisHit,
    /// Answered by the registry (or not at all, offline).
    Miss,
    /// An entry was found but was older than its time to live.
    Expired,
    /// An entry was found but was not well formed.
    Corrupt,
    /// Waited for another renderer's answer through Redis.
    Waited,
    /// A Redis command failed.
    RedisError,
}

impl Counters {
    /// Counts one `event`.
    pub(crate) fn count(&self, event: Event) {
        let slot = match event {
            Event::DiskHit => &self.disk_hits,
            Event::RedisHit => &self.redis_hits,
            Event::Miss => &self.misses,
            Event::Expired => &self.expired,
            Event::Corrupt => &self.corrupt,
            Event::Waited => &self.waited,
            Event::RedisError => &self.redis_errors,
        };
        slot.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> CacheCounts {
        let get = |slot: &AtomicU64| slot.load(Ordering::Relaxed);
        CacheCounts {
            disk_hits: get(&self.disk_hits),
            redis_hits: get(&self.redis_hits),
            misses: get(&self.misses),
            expired: get(&self.expired),
            corrupt: get(&self.corrupt),
            waited: get(&self.waited),
            redis_errors: get(&self.redis_errors),
        }
    }
}

/// Cache lookups of the process by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Answered from the disk cache.
    pub disk_hits: u64,
    /// Answered from Redis.
    pub redis_hits: u64,
    /// Not answered by the cache.
    pub misses: u64,
    /// Entries found too old (each also a miss, unless Redis had a fresher one).
    pub expired: u64,
    /// Entries found torn or corrupt, and ignored.
    pub corrupt: u64,
    /// Lookups that waited for another renderer to fetch.
    pub waited: u64,
    /// Redis commands that failed.
    pub redis_errors: u64,
}

impl fmt::Display for CacheCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} hits ({} disk, {} redis), {} misses ({} expired, {} corrupt), {} waited for another renderer, \
             {} redis errors",
            self.disk_hits + self.redis_hits,
            self.disk_hits,
            self.redis_hits,
            self.misses,
            self.expired,
            self.corrupt,
            self.waited,
            self.redis_errors
        )
    }
}

/// The cache lookups of this process so far.
pub fn cache_counts() -> CacheCounts {
    COUNTERS.snapshot()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints() {
        let counts = CacheCounts { disk_hits: 2, redis_hits: 1, misses: 4, expired: 1, ..CacheCounts::default() };
        assert_eq!(
            counts.to_string(),
            "3 hits (2 disk, 1 redis), 4 misses (1 expired, 0 corrupt), 0 waited for another renderer, 0 redis errors"
        );
    }
}
