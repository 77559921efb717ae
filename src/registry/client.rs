//! The shared registry client: per-host settings, the HTTP client, and the one path every
//! request takes (`send`), with bearer-token authorisation on top of it (`fetch`).
//!
//! Operations live next to their concept (`tags.rs`, `digest.rs`) as further `impl` blocks on
//! [`RegistryClient`]; this file owns what they share.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Request, Response, StatusCode, Url};

use crate::registry::auth::{self, Credentials, TokenCache};
use crate::registry::error::{RegistryError, body_excerpt};

/// Whole-request timeout, body included: a registry that stalls fails the run instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Connection timeout, shorter so an unreachable host is reported quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The host that serves Docker Hub's registry API.
const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// How to talk to one registry host.
///
/// The default is HTTPS with the system's trust roots and no credentials.
#[derive(Clone, Debug, Default)]
pub struct RegistrySettings {
    /// Use plain HTTP instead of HTTPS (local and test registries).
    pub insecure: bool,
}

/// A client for OCI registries, shared by a whole run.
///
/// Cheap to clone: clones share the HTTP connection pool and the token cache.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

/// What clones of a [`RegistryClient`] share.
struct Inner {
    http: reqwest::Client,
    /// Settings keyed by `host[:port]` as the user wrote it.
    settings: HashMap<String, RegistrySettings>,
    tokens: TokenCache,
}

impl fmt::Debug for RegistryClient {
    // Hand-written so that no token can ever reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

/// One repository on one registry, as requests address it.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The registry host as the caller wrote it, for messages.
    pub(crate) registry: String,
    /// The repository path, e.g. `backend/server`.
    pub(crate) repository: String,
    /// The API host the requests go to (`registry-1.docker.io` for `docker.io`).
    api_host: String,
    /// `<scheme>://<api host>/v2/<repository>/`.
    base: Url,
}

impl Endpoint {
    /// The URL of `path` below the repository, e.g. `tags/list`.
    pub(crate) fn url(&self, path: &str) -> Result<Url, RegistryError> {
        self.base.join(path).map_err(|_| RegistryError::InvalidRepository {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
        })
    }

    /// The scope a pull token for this repository is requested with.
    fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }

    /// Builds a [`RegistryError::Connect`] for this endpoint.
    pub(crate) fn connect_error(&self, source: reqwest::Error) -> RegistryError {
        RegistryError::Connect { registry: self.registry.clone(), repository: self.repository.clone(), source }
    }
}

/// `METHOD /path?query` of a request, for messages (never includes headers).
pub(crate) fn describe(method: &Method, url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{method} {}?{query}", url.path()),
        None => format!("{method} {}", url.path()),
    }
}

impl RegistryClient {
    /// Builds a client with settings per registry host (`host[:port]`, as written in image
    /// references; `docker.io` for Docker Hub).
    ///
    /// Hosts without settings get the defaults (HTTPS, anonymous).
    ///
    /// # Errors
    ///
    /// [`RegistryError::Client`] if the TLS backend cannot be set up.
    pub fn new(settings: HashMap<String, RegistrySettings>) -> Result<Self, RegistryError> {
        // reqwest is built with `rustls-no-provider`: it uses the process-wide provider. Installing
        // fails harmlessly when one is already installed (a second client, or the binary did it).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("imgpolicy/", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(RegistryError::Client)?;
        Ok(Self { inner: Arc::new(Inner { http, settings, tokens: TokenCache::default() }) })
    }

    /// Resolves `host` and `repository` to the URLs requests use, validating both.
    pub(crate) fn endpoint(&self, host: &str, repository: &str) -> Result<Endpoint, RegistryError> {
        let invalid_host = || RegistryError::InvalidHost { host: host.to_owned() };
        if !is_valid_host(host) {
            return Err(invalid_host());
        }
        if !is_valid_repository(repository) {
            return Err(RegistryError::InvalidRepository {
                registry: host.to_owned(),
                repository: repository.to_owned(),
            });
        }
        let api_host = api_host(host);
        let settings = self.inner.settings.get(host).or_else(|| self.inner.settings.get(api_host));
        let scheme = match settings {
            Some(settings) if settings.insecure => "http",
            _ => "https",
        };
        let base = Url::parse(&format!("{scheme}://{api_host}/v2/{repository}/")).map_err(|_| invalid_host())?;
        if base.host_str().is_none() || base.path() != format!("/v2/{repository}/") {
            return Err(invalid_host());
        }
        Ok(Endpoint {
            registry: host.to_owned(),
            repository: repository.to_owned(),
            api_host: api_host.to_owned(),
            base,
        })
    }

    /// Sends one request and returns whatever the server answered.
    ///
    /// Every request of this module goes through here, token requests included: this is where
    /// retries with backoff (5xx, 429 with `Retry-After`) and request limits belong.
    pub(crate) async fn send(&self, request: Request) -> Result<Response, reqwest::Error> {
        self.inner.http.execute(request).await
    }

    /// Sends a request to `endpoint` with a pull token when the registry asks for one, and
    /// turns a non-success status into [`RegistryError::Status`].
    ///
    /// A cached token for the host and scope is sent up front; on `401` with a `Bearer`
    /// challenge a fresh token is fetched, cached, and the request is sent once more.
    pub(crate) async fn fetch(
        &self,
        endpoint: &Endpoint,
        method: Method,
        url: Url,
        accept: &'static str,
    ) -> Result<Response, RegistryError> {
        let scope = endpoint.pull_scope();
        let cached = self.inner.tokens.get(&endpoint.api_host, &scope);
        let request = build_request(&method, &url, accept, cached.as_ref());
        let mut response = self.send(request).await.map_err(|e| endpoint.connect_error(e))?;

        if response.status() == StatusCode::UNAUTHORIZED {
            let challenge = response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(auth::parse_challenges)
                .find_map(|challenge| challenge.bearer());
            // Without a bearer challenge (e.g. `Basic`) there is nothing an anonymous client can
            // answer; credentials will slot in here.
            if let Some(challenge) = challenge {
                let credentials = Credentials::for_host(&endpoint.api_host);
                let token = self.fetch_token(&challenge, &scope, &credentials).await.map_err(|source| {
                    RegistryError::Token {
                        registry: endpoint.registry.clone(),
                        repository: endpoint.repository.clone(),
                        source,
                    }
                })?;
                let header = token.header.clone();
                self.inner.tokens.insert(&endpoint.api_host, &scope, token);
                let request = build_request(&method, &url, accept, Some(&header));
                response = self.send(request).await.map_err(|e| endpoint.connect_error(e))?;
            }
        }

        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        // The body is only for the message: if it cannot be read, report the status alone.
        let body = response.text().await.unwrap_or_default();
        Err(RegistryError::Status {
            registry: endpoint.registry.clone(),
            repository: endpoint.repository.clone(),
            request: describe(&method, &url),
            status,
            detail: body_excerpt(&body),
        })
    }
}

/// Builds a request with an `Accept` header and an optional `Authorization` value.
fn build_request(method: &Method, url: &Url, accept: &'static str, authorization: Option<&HeaderValue>) -> Request {
    let mut request = Request::new(method.clone(), url.clone());
    let headers = request.headers_mut();
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    if let Some(value) = authorization {
        headers.insert(AUTHORIZATION, value.clone());
    }
    request
}

/// The host that serves the registry API for `host`: Docker Hub's names map to its API host.
fn api_host(host: &str) -> &str {
    if host.eq_ignore_ascii_case("docker.io") || host.eq_ignore_ascii_case("index.docker.io") {
        DOCKER_HUB_API_HOST
    } else {
        host
    }
}

/// Whether `host` looks like `name[:port]` or `[ipv6][:port]`, with nothing a URL would read as
/// a path, user or query.
fn is_valid_host(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Whether `repository` is a distribution repository path: `/`-separated components of
/// lowercase letters and digits, joined inside by `.`, `_` or `-`.
fn is_valid_repository(repository: &str) -> bool {
    !repository.is_empty()
        && repository.len() <= 255
        && repository.split('/').all(|component| {
            let bytes = component.as_bytes();
            let inner = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            bytes.first().is_some_and(inner)
                && bytes.last().is_some_and(inner)
                && bytes.iter().all(|b| inner(b) || matches!(b, b'.' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(insecure_hosts: &[&str]) -> RegistryClient {
        let settings = insecure_hosts.iter().map(|h| ((*h).to_owned(), RegistrySettings { insecure: true })).collect();
        RegistryClient::new(settings).expect("client builds")
    }

    #[test]
    fn endpoints() {
        let client = client(&["127.0.0.1:5000"]);
        let local = client.endpoint("127.0.0.1:5000", "backend/server").expect("valid");
        assert_eq!(local.url("tags/list").expect("url").as_str(), "http://127.0.0.1:5000/v2/backend/server/tags/list");
        let hub = client.endpoint("docker.io", "library/nginx").expect("valid");
        assert_eq!(
            hub.url("manifests/1.27").expect("url").as_str(),
            "https://registry-1.docker.io/v2/library/nginx/manifests/1.27"
        );
        let ghcr = client.endpoint("ghcr.io", "fluxcd/flux-cli").expect("valid");
        assert_eq!(ghcr.base.as_str(), "https://ghcr.io/v2/fluxcd/flux-cli/");
    }

    #[test]
    fn rejects_invalid_names() {
        let client = client(&[]);
        for host in ["", "a/b", "user@host", "host?x", "ho st"] {
            assert!(matches!(client.endpoint(host, "repo"), Err(RegistryError::InvalidHost { .. })), "{host}");
        }
        for repo in ["", "Upper", "a//b", "../x", "a/", "-a", "a?b", "a/b%2f"] {
            assert!(matches!(client.endpoint("ghcr.io", repo), Err(RegistryError::InvalidRepository { .. })), "{repo}");
        }
    }

    #[test]
    fn describes_requests_without_host() {
        let url = Url::parse("https://ghcr.io/v2/a/tags/list?n=10&last=x").expect("url");
        assert_eq!(describe(&Method::GET, &url), "GET /v2/a/tags/list?n=10&last=x");
    }

    #[test]
    fn new_twice() {
        // The crypto provider may already be installed: building a second client must work.
        let _first = client(&[]);
        let _second = client(&[]);
    }
}
