//! The local cache: one small JSON file per entry under the cache directory.
//!
//! Entries live at `<dir>/v1/<first two hex digits>/<key hash>.json`. Writes go to a temporary
//! file beside the entry and are renamed over it, so concurrent renders see the old entry or the
//! new one, never half of one; a reader that still finds a torn or foreign file (a crash before
//! the data reached the disk, a hand edit) treats it as a miss and fetches again. Nothing is
//! ever deleted: stale entries are overwritten when next fetched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{CacheError, CacheKey, CacheValue, Entry};

/// What looking an entry up found.
#[derive(Debug)]
pub enum Lookup<T> {
    /// A well-formed entry for the key, of any age.
    Found(Entry<T>),
    /// No entry.
    Missing,
    /// A file that is not a well-formed entry for the key.
    Corrupt,
}

/// The on-disk cache under one directory.
#[derive(Debug, Clone)]
pub struct DiskCache {
    root: PathBuf,
}

/// Makes temporary file names unique within the process; the pid makes them unique across.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

impl DiskCache {
    /// A cache under `dir`, created on first write.
    pub fn new(dir: &Path) -> Self {
        Self { root: dir.join("v1") }
    }

    /// The file of `key`'s entry.
    pub fn path(&self, key: &CacheKey) -> PathBuf {
        let hash = key.hash();
        self.root.join(&hash[..2]).join(format!("{hash}.json"))
    }

    /// Reads `key`'s entry. An unreadable file is `Lookup::Missing` when it does not exist
    /// and `Lookup::Corrupt` otherwise.
    pub fn read<T: CacheValue>(&self, key: &CacheKey) -> Lookup<T> {
        match std::fs::read(self.path(key)) {
            Ok(bytes) => Entry::decode(&bytes, key).map_or(Lookup::Corrupt, Lookup::Found),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Lookup::Missing,
            Err(_) => Lookup::Corrupt,
        }
    }

    /// Writes `entry` for `key`, atomically (temporary file, then rename).
    ///
    /// # Errors
    /// [`CacheError::Write`] naming the file when the directory or the file cannot be written.
    pub fn write<T: CacheValue>(&self, key: &CacheKey, entry: &Entry<T>) -> Result<(), CacheError> {
        self.write_encoded(key, &entry.encode())
    }

    /// As [`DiskCache::write`], for an entry already encoded ([`Entry::encode`], or bytes read
    /// from Redis that decoded as `key`'s entry): a value stored in two layers, or copied from
    /// one to the other, is encoded once.
    pub(crate) fn write_encoded(&self, key: &CacheKey, bytes: &[u8]) -> Result<(), CacheError> {
        fn failed(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
            move |source| CacheError::Write { path: path.to_path_buf(), source }
        }
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(failed(dir))?;
        let counter = TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let temporary = dir.join(format!(".{}.{}.{counter}.tmp", key.hash(), std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .and_then(|mut file| file.write_all(bytes))
            .map_err(failed(&temporary))
            .and_then(|()| std::fs::rename(&temporary, &path).map_err(failed(&path)));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Repository;

    fn key(path: &str) -> CacheKey {
        CacheKey::tags(&Repository { host: "ghcr.io".into(), path: path.into() }, "anonymous")
    }

    #[test]
    fn writes_and_reads_back() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = DiskCache::new(dir.path());
        assert!(matches!(cache.read::<Vec<String>>(&key("a")), Lookup::Missing));
        cache.write(&key("a"), &Entry::new(&key("a"), vec!["1".to_owned()])).expect("write");
        let Lookup::Found(entry) = cache.read::<Vec<String>>(&key("a")) else { panic!("entry expected") };
        assert_eq!(entry.value, ["1"]);
        assert!(cache.path(&key("a")).starts_with(dir.path().join("v1")));
        // No temporary file is left behind.
        let files = std::fs::read_dir(cache.path(&key("a")).parent().expect("dir")).expect("list").count();
        assert_eq!(files, 1);
    }

    #[test]
    fn corrupt_and_misplaced_entries_are_not_used() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = DiskCache::new(dir.path());
        cache.write(&key("a"), &Entry::new(&key("a"), vec!["1".to_owned()])).expect("write");
        std::fs::write(cache.path(&key("a")), b"{\"key\": \"imgpolicy-cache/v1 ta").expect("tear");
        assert!(matches!(cache.read::<Vec<String>>(&key("a")), Lookup::Corrupt));
        // `b`'s file holding `a`'s entry.
        let entry = Entry::new(&key("a"), vec!["1".to_owned()]);
        std::fs::create_dir_all(cache.path(&key("b")).parent().expect("dir")).expect("dir");
        std::fs::write(cache.path(&key("b")), entry.encode()).expect("misplace");
        assert!(matches!(cache.read::<Vec<String>>(&key("b")), Lookup::Corrupt));
    }

    #[test]
    fn unwritable_directory_names_the_path() {
        let dir = tempfile::tempdir().expect("dir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").expect("file");
        let cache = DiskCache::new(&blocker);
        let error = cache.write(&key("a"), &Entry::new(&key("a"), Vec::new())).expect_err("not a directory");
        assert!(error.to_string().starts_with(&format!("cannot write the cache entry `{}", blocker.display())));
    }
}
