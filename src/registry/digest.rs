//! Manifest digests: what digest a tag points to, from `HEAD` + `Docker-Content-Digest`.
//!
//! The `Accept` header lists both index types before both manifest types, so a multi-arch tag
//! resolves to its index digest (what `docker pull image:tag@sha256:...` pins), never to one
//! platform's manifest. Registries that leave out `Docker-Content-Digest` get a `GET`, and the
//! digest is the SHA-256 of the body exactly as served.
//!
//! With a [`Platform`], the index is read (`GET`) and the digest of that platform's manifest
//! is returned instead; a single-platform image has only its own digest.

use std::fmt::Write as _;

use reqwest::Method;
use reqwest::header::HeaderValue;

use crate::image::{is_valid_digest, is_valid_tag};
use crate::registry::client::Endpoint;
use crate::registry::client::RegistryClient;
use crate::registry::error::{RegistryError, truncate};
use crate::registry::platform::{self, Index, Platform};
use crate::registry::stats::RequestKind;

/// Manifest media types accepted, indexes first.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The header that carries a manifest's digest.
const DIGEST_HEADER: &str = "docker-content-digest";

impl RegistryClient {
    /// The digest (`sha256:<64 hex>`) of the manifest that `reference` (a tag, or a digest)
    /// points to in `repository` on `host`.
    ///
    /// For a multi-arch tag this is the digest of the image index (or Docker manifest list).
    /// Uses `HEAD` and the `Docker-Content-Digest` header; when the registry does not send it,
    /// falls back to `GET` and hashes the body.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`]: an invalid host, repository or reference, an unreachable
    /// registry, an error status (`404` for an unknown tag or repository), or a digest header
    /// that is not `sha256:` + 64 lowercase hex digits.
    pub async fn manifest_digest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
    ) -> Result<String, RegistryError> {
        self.platform_digest(host, repository, reference, None).await
    }

    /// As [`RegistryClient::manifest_digest`], but with a `platform` the digest of that
    /// platform's manifest in the tag's index (one `GET` of the index, no `HEAD`). A tag that
    /// is a single manifest, not an index, gives its own digest whatever the platform.
    ///
    /// # Errors
    ///
    /// As [`RegistryClient::manifest_digest`]; also [`RegistryError::NoPlatform`] when the index
    /// lists no manifest for `platform`.
    pub async fn platform_digest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
        platform: Option<&Platform>,
    ) -> Result<String, RegistryError> {
        let endpoint = self.endpoint(host, repository)?;
        if !is_valid_tag(reference) && !is_valid_digest(reference) {
            return Err(RegistryError::InvalidReference {
                registry: endpoint.registry,
                repository: endpoint.repository,
                reference: reference.to_owned(),
            });
        }
        let url = endpoint.url(&format!("manifests/{reference}"))?;
        if let Some(platform) = platform {
            return self.child_digest(&endpoint, url, reference, platform).await;
        }
        let response =
            self.fetch(&endpoint, Method::HEAD, url.clone(), MANIFEST_ACCEPT, RequestKind::ManifestHead).await?;
        if let Some(value) = response.headers().get(DIGEST_HEADER) {
            return checked_digest(value).ok_or_else(|| RegistryError::InvalidDigest {
                registry: endpoint.registry.clone(),
                repository: endpoint.repository.clone(),
                reference: reference.to_owned(),
                value: truncate(&String::from_utf8_lossy(value.as_bytes()), 100),
            });
        }
        let request = crate::registry::client::describe(&Method::GET, &url);
        let response = self.fetch(&endpoint, Method::GET, url, MANIFEST_ACCEPT, RequestKind::ManifestGet).await?;
        let body = response.bytes().await.map_err(|e| endpoint.connect_error(e))?;
        ensure_manifest(&endpoint, request, &body)?;
        Ok(sha256_digest(&body))
    }

    /// `GET`s the manifest at `url` and picks `platform`'s child if it is an index.
    async fn child_digest(
        &self,
        endpoint: &Endpoint,
        url: reqwest::Url,
        reference: &str,
        platform: &Platform,
    ) -> Result<String, RegistryError> {
        let request = crate::registry::client::describe(&Method::GET, &url);
        let response = self.fetch(endpoint, Method::GET, url, MANIFEST_ACCEPT, RequestKind::ManifestGet).await?;
        let body = response.bytes().await.map_err(|e| endpoint.connect_error(e))?;
        ensure_manifest(endpoint, request.clone(), &body)?;
        let index: Index = serde_json::from_slice(&body).map_err(|source| RegistryError::InvalidJson {
            registry: endpoint.registry.clone(),
            repository: endpoint.repository.clone(),
            request,
            source,
        })?;
        let Some(manifests) = index.manifests else {
            return Ok(sha256_digest(&body));
        };
        let digest = platform.pick(&manifests).ok_or_else(|| RegistryError::NoPlatform {
            registry: endpoint.registry.clone(),
            repository: endpoint.repository.clone(),
            reference: reference.to_owned(),
            platform: platform.to_string(),
            available: platform::listed(&manifests),
        })?;
        if !is_valid_digest(digest) {
            return Err(RegistryError::InvalidDigest {
                registry: endpoint.registry.clone(),
                repository: endpoint.repository.clone(),
                reference: reference.to_owned(),
                value: truncate(digest, 100),
            });
        }
        Ok(digest.to_owned())
    }
}

/// Refuses a body that is not an image manifest or index: hashing an error page, a proxy's
/// login form or a cut-off manifest would pin a digest that names nothing.
///
/// The body must be JSON with `schemaVersion: 2`, and a `mediaType`, if it has one, must be
/// one of the types asked for.
fn ensure_manifest(endpoint: &Endpoint, request: String, body: &[u8]) -> Result<(), RegistryError> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    let invalid = |source| RegistryError::InvalidJson {
        registry: endpoint.registry.clone(),
        repository: endpoint.repository.clone(),
        request: request.clone(),
        source,
    };
    let head: Head = serde_json::from_slice(body).map_err(invalid)?;
    let known = |media_type: &str| MANIFEST_ACCEPT.split(',').any(|accepted| accepted.trim() == media_type);
    let problem = if head.schema_version != 2 {
        format!("`schemaVersion` is {}, not 2", head.schema_version)
    } else if let Some(media_type) = head.media_type.filter(|media_type| !known(media_type)) {
        format!("`mediaType` `{}` is not an image manifest or index", truncate(&media_type, 100))
    } else {
        return Ok(());
    };
    Err(invalid(<serde_json::Error as serde::de::Error>::custom(problem)))
}

/// The digest in a `Docker-Content-Digest` value, if it is a valid `sha256:` digest.
fn checked_digest(value: &HeaderValue) -> Option<String> {
    let value = value.to_str().ok()?.trim();
    is_valid_digest(value).then(|| value.to_owned())
}

/// `sha256:<hex>` of `bytes`: the digest of a manifest body as served.
fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// SHA-256 of `bytes`, in lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// `bytes` in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_inputs() {
        assert_eq!(sha256_digest(b""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_digest(b"abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn digest_headers_are_checked() {
        let good = format!("sha256:{}", "0a".repeat(32));
        assert_eq!(checked_digest(&HeaderValue::from_str(&format!(" {good} ")).expect("header")), Some(good));
        assert_eq!(checked_digest(&HeaderValue::from_static("md5:abc")), None);
    }

    #[test]
    fn only_manifests_are_hashed() {
        let client = RegistryClient::new(std::collections::HashMap::<String, crate::registry::HostSettings>::new())
            .expect("client");
        let endpoint = client.endpoint("r.example", "app").expect("endpoint");
        let check = |body: &str| {
            ensure_manifest(&endpoint, "GET /v2/app/manifests/1".into(), body.as_bytes()).map_err(|e| {
                let source = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
                format!("{e}: {source}")
            })
        };
        assert!(
            check(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#)
                .is_ok()
        );
        assert!(check(r#"{"schemaVersion":2,"config":{},"layers":[]}"#).is_ok(), "OCI lets mediaType out");
        assert_eq!(
            check("<html>login</html>").unwrap_err(),
            "registry `r.example` sent an invalid response to `GET /v2/app/manifests/1` for `app`: \
             expected value at line 1 column 1"
        );
        assert!(check(r#"{"schemaVersion":2,"config":{"#).is_err(), "cut off");
        assert!(check(r#"{"schemaVersion":1,"name":"app"}"#).unwrap_err().ends_with("`schemaVersion` is 1, not 2"));
        assert!(
            check(r#"{"schemaVersion":2,"mediaType":"text/html"}"#)
                .unwrap_err()
                .ends_with("`mediaType` `text/html` is not an image manifest or index")
        );
        assert!(check("{}").is_err());
    }
}
