//! One cached answer as stored: the key it answers, when it was fetched, and the value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::image::is_valid_digest;

use super::CacheKey;

/// A value the cache can hold, with the check a stored copy must pass before it is used.
pub trait CacheValue: Serialize + DeserializeOwned + Clone + Send + 'static {
    /// Whether a value read back is well formed; one that is not counts as corrupt.
    fn is_valid(&self) -> bool;
}

/// A tag list, as the registry sent it (callers check each tag before writing it anywhere).
impl CacheValue for Vec<String> {
    fn is_valid(&self) -> bool {
        true
    }
}

/// A manifest digest: must be `sha256:` and 64 hex digits.
impl CacheValue for String {
    fn is_valid(&self) -> bool {
        is_valid_digest(self)
    }
}

/// A stored answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry<T> {
    /// [`CacheKey::text`] of the key it answers.
    pub key: String,
    /// When it was fetched from the registry, in milliseconds since the Unix epoch.
    pub stored: u64,
    /// The answer.
    pub value: T,
}

impl<T: CacheValue> Entry<T> {
    /// An entry for `value`, fetched now.
    pub fn new(key: &CacheKey, value: T) -> Self {
        Self { key: key.text().to_owned(), stored: now_millis(), value }
    }

    /// The JSON bytes stored on disk and in Redis.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising strings and integers to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an entry back; `None` if the bytes are not a well-formed entry for `key` (torn,
    /// corrupt, or another key's).
    pub fn decode(bytes: &[u8], key: &CacheKey) -> Option<Self> {
        let entry: Self = serde_json::from_slice(bytes).ok()?;
        (entry.key == key.text() && entry.value.is_valid()).then_some(entry)
    }

    /// How long ago the value was fetched (zero for a time in the future: another machine's
    /// clock may run ahead).
    pub fn age(&self) -> Duration {
        Duration::from_millis(now_millis().saturating_sub(self.stored))
    }

    /// Whether the value is younger than `ttl`.
    pub fn is_fresh(&self, ttl: Duration) -> bool {
        self.age() < ttl
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_millis() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Repository;

    fn key() -> CacheKey {
        CacheKey::tags(&Repository { host: "ghcr.io".into(), path: "org/app".into() }, "anonymous")
    }

    #[test]
    fn round_trip_and_freshness() {
        let entry = Entry::new(&key(), vec!["1.0.0".to_owned()]);
        let back = Entry::<Vec<String>>::decode(&entry.encode(), &key()).expect("decodes");
        assert_eq!(back.value, ["1.0.0"]);
        assert!(back.is_fresh(Duration::from_secs(60)));
        let old = Entry { stored: entry.stored - 61_000, ..back };
        assert!(!old.is_fresh(Duration::from_secs(60)));
    }

    #[test]
    fn rejects_torn_foreign_and_invalid_entries() {
        let bytes = Entry::new(&key(), vec!["1.0.0".to_owned()]).encode();
        assert!(Entry::<Vec<String>>::decode(&bytes[..bytes.len() / 2], &key()).is_none());
        assert!(Entry::<Vec<String>>::decode(b"", &key()).is_none());
        let other = CacheKey::tags(&Repository { host: "ghcr.io".into(), path: "org/other".into() }, "anonymous");
        assert!(Entry::<Vec<String>>::decode(&bytes, &other).is_none());
        let digest = Entry::new(&key(), "sha256:nothex".to_owned()).encode();
        assert!(Entry::<String>::decode(&digest, &key()).is_none());
    }
}
