//! What an entry is about: a repository's tag list, or one tag's digest, as seen with one
//! credential.

use crate::image::Repository;
use crate::registry::{Platform, sha256_hex};

/// Names one cache entry: registry, repository, credential identity, and for a digest the tag
/// and platform.
///
/// The identity is what [`RegistryClient::credential_identity`] gives: `anonymous`, or a slow
/// hash of the credential. Two credentials never share an entry, since one may see
/// repositories or tags the other may not.
///
/// ```
/// use imgpolicy::cache::CacheKey;
/// use imgpolicy::image::Repository;
///
/// let repository = Repository { host: "ghcr.io".into(), path: "org/app".into() };
/// let key = CacheKey::tags(&repository, "anonymous");
/// assert_eq!(key.text(), "imgpolicy-cache/v1 tags ghcr.io/org/app anonymous");
/// assert_eq!(key.hash().len(), 64);
/// ```
///
/// [`RegistryClient::credential_identity`]: crate::registry::RegistryClient::credential_identity
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    text: String,
    hash: String,
    repository: String,
}

impl CacheKey {
    /// The key of `repository`'s tag list.
    pub fn tags(repository: &Repository, identity: &str) -> Self {
        Self::new(format!("tags {repository}"), identity, repository.to_string())
    }

    /// The key of the digest `repository:tag` points to, for `platform` (`None`: the index).
    pub fn digest(repository: &Repository, tag: &str, platform: Option<&Platform>, identity: &str) -> Self {
        let platform = platform.map(|platform| format!("@{platform}")).unwrap_or_default();
        Self::new(format!("digest {repository}:{tag}{platform}"), identity, format!("{repository}:{tag}{platform}"))
    }

    fn new(subject: String, identity: &str, repository: String) -> Self {
        let text = format!("imgpolicy-cache/v1 {subject} {identity}");
        let hash = sha256_hex(text.as_bytes());
        Self { text, hash, repository }
    }

    /// The whole key, stored in the entry so a misplaced or colliding entry is noticed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// SHA-256 of [`CacheKey::text`] in hex: the file name and the Redis key.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// What the entry is about, for messages: `ghcr.io/org/app` or `ghcr.io/org/app:1.0`.
    pub fn subject(&self) -> &str {
        &self.repository
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository() -> Repository {
        Repository { host: "127.0.0.1:5000".into(), path: "team/app".into() }
    }

    #[test]
    fn keys_differ_by_identity_kind_tag_and_platform() {
        let repository = repository();
        let platform: Platform = "linux/arm64".parse().expect("platform");
        let keys = [
            CacheKey::tags(&repository, "anonymous"),
            CacheKey::tags(&repository, "basic:00ff"),
            CacheKey::digest(&repository, "1.0", None, "anonymous"),
            CacheKey::digest(&repository, "1.1", None, "anonymous"),
            CacheKey::digest(&repository, "1.0", Some(&platform), "anonymous"),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a.hash(), b.hash(), "{} vs {}", a.text(), b.text());
            }
        }
        assert_eq!(keys[4].text(), "imgpolicy-cache/v1 digest 127.0.0.1:5000/team/app:1.0@linux/arm64 anonymous");
        assert_eq!(keys[4].subject(), "127.0.0.1:5000/team/app:1.0@linux/arm64");
    }
}
