//! Who the client is to a registry, as the cache keys it: the credential's identity, never
//! the credential.
//!
//! An identity is `anonymous`, or a kind and a PBKDF2-HMAC-SHA256 hash of the credential salted
//! with the host. Cache entries (on disk and in a shared Redis) carry it so that two
//! credentials never share an answer; a slow hash keeps a weak password from being guessed back
//! from an entry.

use std::num::NonZeroU32;

use crate::registry::client::RegistryClient;
use crate::registry::credentials::Credentials;
use crate::registry::{RegistryError, hex};

/// PBKDF2 rounds: slow enough to make guessing costly, once per host and run.
const ROUNDS: NonZeroU32 = NonZeroU32::new(10_000).expect("non-zero");

impl RegistryClient {
    /// The identity under which answers from `host` are cached: `anonymous`, `basic-<hash>` or
    /// `token-<hash>`.
    ///
    /// Looks the credentials up (once per host and run) exactly as a request would.
    ///
    /// # Errors
    /// [`RegistryError::Credentials`] when the lookup fails (a credential helper failing, say).
    pub async fn credential_identity(&self, host: &str) -> Result<String, RegistryError> {
        Ok(identity(host, &self.host_credentials(host).await?))
    }
}

/// The identity of `credentials` for `host`.
fn identity(host: &str, credentials: &Credentials) -> String {
    let (kind, secret) = match credentials {
        Credentials::Anonymous => return "anonymous".to_owned(),
        Credentials::Basic { username, password } => ("basic", format!("{username}\0{}", password.expose())),
        Credentials::IdentityToken(token) => ("token", token.expose().to_owned()),
    };
    let salt = format!("imgpolicy-cache-identity/v1\0{host}");
    let mut hash = [0u8; 16];
    ring::pbkdf2::derive(ring::pbkdf2::PBKDF2_HMAC_SHA256, ROUNDS, salt.as_bytes(), secret.as_bytes(), &mut hash);
    format!("{kind}-{}", hex(&hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::credentials::Secret;

    fn basic(user: &str, password: &str) -> Credentials {
        Credentials::Basic { username: user.to_owned(), password: Secret::new(password.to_owned()) }
    }

    #[test]
    fn identities_separate_credentials_and_hide_them() {
        let alice = identity("r.example", &basic("alice", "s3cret"));
        assert!(alice.starts_with("basic-") && alice.len() == "basic-".len() + 32, "{alice}");
        assert!(!alice.contains("alice") && !alice.contains("s3cret"));
        assert_eq!(alice, identity("r.example", &basic("alice", "s3cret")), "stable");
        for other in [
            identity("r.example", &basic("alice", "other")),
            identity("r.example", &basic("bob", "s3cret")),
            identity("other.example", &basic("alice", "s3cret")),
            identity("r.example", &Credentials::IdentityToken(Secret::new("s3cret".into()))),
            identity("r.example", &Credentials::Anonymous),
        ] {
            assert_ne!(alice, other);
        }
        assert_eq!(identity("r.example", &Credentials::Anonymous), "anonymous");
    }
}
