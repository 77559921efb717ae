//! The shared registry client: per-host settings, the HTTP clients, and the one path every
//! request takes (`send`: deadline, rate limit, retries, counting), with authorisation on top
//! of it (`fetch`: cached tokens, bearer and basic challenges, credentials per host).
//!
//! Operations live next to their concept (`tags.rs`, `digest.rs`, `auth.rs`) as further
//! `impl` blocks on [`RegistryClient`]; this file owns what they share.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Request, Response, StatusCode, Url};

use crate::registry::auth::{self, TokenCache, TokenError};
use crate::registry::credentials::{self, Credentials, Environment};
use crate::registry::error::{RegistryError, authorization_secret, body_excerpt, redact};
use crate::registry::retry;
use crate::registry::settings::{ClientLimits, CredentialSource, HostSettings};
use crate::registry::stats::{self, Counters, RequestCounts, RequestKind};

/// The host that serves Docker Hub's registry API.
const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The token-cache scope under which a host's basic `Authorization` value is kept.
const BASIC_SCOPE: &str = "";
/// How long the default metadata host (`metadata.google.internal`) may take: off GCE it does
/// not resolve, and that must not slow a run down.
const METADATA_PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The most repository scopes one token is asked for. Each granted scope makes the token (a
/// JWT on Docker Hub and distribution) longer, and it is sent in every request's
/// `Authorization` header: 32 keeps it to a few kilobytes, well under the 8 KB header line
/// that common front ends (nginx) accept.
const MAX_SCOPES_PER_TOKEN: usize = 32;

/// A client for OCI registries, shared by a whole run.
///
/// Cheap to clone: clones share the HTTP connection pools, the token and credential caches,
/// the rate limiters and the request counts. [`RegistryClient::with_deadline`] gives a clone
/// whose requests all end by a point in time.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
    /// When every request of this clone must be done, and the timeout it came from.
    deadline: Option<(Instant, Duration)>,
}

/// What clones of a [`RegistryClient`] share.
struct Inner {
    /// The client for hosts without a CA file of their own.
    http: reqwest::Client,
    /// Clients that also trust a host's `caFile`, by request authority (`host[:port]`).
    host_http: HashMap<String, reqwest::Client>,
    /// Settings by host as the user wrote it, and by API host (`registry-1.docker.io`).
    hosts: HashMap<String, HostSettings>,
    limits: ClientLimits,
    tokens: TokenCache,
    /// One token fetch at a time per (API host, scope): concurrent requests wait for it.
    token_locks: Mutex<HashMap<(String, String), TokenLock>>,
    /// The repositories this run asks about, by API host: a token fetched for one of them
    /// covers the others too (see [`RegistryClient::bearer_token`]).
    repositories: Mutex<HashMap<String, BTreeSet<String>>>,
    /// API hosts whose token endpoint refused a token for several scopes: one scope per token
    /// there from then on.
    single_scope_hosts: Mutex<HashSet<String>>,
    /// Credentials per registry host, looked up once.
    credentials: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Credentials>>>>,
    /// The next free slot per rate-limited authority.
    pacers: HashMap<String, Pacer>,
    env: Environment,
    counters: Counters,
}

/// Held while a token for one (API host, scope) is fetched.
type TokenLock = Arc<tokio::sync::Mutex<()>>;

/// Spaces requests to one host `interval` apart.
struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl fmt::Debug for RegistryClient {
    // Hand-written so that no token can ever reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient").field("hosts", &self.inner.hosts).finish_non_exhaustive()
    }
}

/// Why `send` returned no response.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The request failed (after any retries).
    Http(reqwest::Error),
    /// The run's deadline passed; the timeout it came from.
    Deadline(Duration),
}

/// How many attempts a response took, kept in its extensions.
#[derive(Clone, Copy)]
struct Attempts(u32);

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
        pull_scope(&self.repository)
    }

    /// Builds a [`RegistryError::Connect`] for this endpoint.
    pub(crate) fn connect_error(&self, source: reqwest::Error) -> RegistryError {
        RegistryError::Connect { registry: self.registry.clone(), repository: self.repository.clone(), source }
    }

    /// The [`RegistryError`] for a request that got no response.
    pub(crate) fn send_error(&self, error: SendError) -> RegistryError {
        match error {
            SendError::Http(source) => self.connect_error(source),
            SendError::Deadline(timeout) => self.deadline_error(timeout),
        }
    }

    /// Builds a [`RegistryError::Deadline`] for this endpoint.
    pub(crate) fn deadline_error(&self, timeout: Duration) -> RegistryError {
        RegistryError::Deadline { registry: self.registry.clone(), repository: self.repository.clone(), timeout }
    }
}

/// `METHOD /path?query` of a request, for messages (never includes headers).
pub(crate) fn describe(method: &Method, url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{method} {}?{query}", url.path()),
        None => format!("{method} {}", url.path()),
    }
}

/// `host[:port]` of a URL, as settings are keyed (the default port left out).
pub(crate) fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    }
}

impl RegistryClient {
    /// Builds a client with settings per registry host (`host[:port]`, as written in image
    /// references; `docker.io` for Docker Hub), the default limits, and credentials from the
    /// process environment (`DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `GCE_METADATA_HOST`, ...).
    ///
    /// Hosts without settings get the defaults (HTTPS, credentials from the usual places).
    ///
    /// # Errors
    ///
    /// [`RegistryError::Client`] if the TLS backend cannot be set up, [`RegistryError::CaFile`]
    /// if a host's `caFile` cannot be read or holds no certificate.
    pub fn new<S: Into<HostSettings>>(settings: HashMap<String, S>) -> Result<Self, RegistryError> {
        Self::with_limits(settings, ClientLimits::default())
    }

    /// As [`RegistryClient::new`], with explicit timeouts, retry counts and backoff.
    ///
    /// # Errors
    ///
    /// As [`RegistryClient::new`].
    pub fn with_limits<S: Into<HostSettings>>(
        settings: HashMap<String, S>,
        limits: ClientLimits,
    ) -> Result<Self, RegistryError> {
        // reqwest is built with `rustls-no-provider`: it uses the process-wide provider. Installing
        // fails harmlessly when one is already installed (a second client, or the binary did it).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("imgpolicy/", env!("CARGO_PKG_VERSION")))
                .timeout(limits.request_timeout)
                .connect_timeout(limits.connect_timeout)
        };
        let http = builder().build().map_err(RegistryError::Client)?;
        let mut hosts = HashMap::new();
        let mut host_http = HashMap::new();
        let mut pacers = HashMap::new();
        for (host, settings) in settings {
            let settings: HostSettings = settings.into();
            let api = api_host(&host).to_owned();
            if let Some(path) = &settings.ca_file {
                let certificates = read_ca_file(&host, path)?;
                let client = builder().tls_certs_merge(certificates).build().map_err(RegistryError::Client)?;
                host_http.insert(api.clone(), client);
            }
            if let Some(rate) = settings.requests_per_second.filter(|rate| rate.is_finite() && *rate > 0.0) {
                let interval = Duration::from_secs_f64(1.0 / rate);
                pacers.insert(api.clone(), Pacer { interval, next: tokio::sync::Mutex::new(Instant::now()) });
            }
            hosts.insert(api.clone(), settings.clone());
            hosts.insert(host, settings);
        }
        let inner = Inner {
            http,
            host_http,
            hosts,
            limits,
            tokens: TokenCache::default(),
            token_locks: Mutex::default(),
            repositories: Mutex::default(),
            single_scope_hosts: Mutex::default(),
            credentials: Mutex::default(),
            pacers,
            env: Environment::from_process(),
            counters: Counters::default(),
        };
        Ok(Self { inner: Arc::new(inner), deadline: None })
    }

    /// A clone whose requests must all be done within `timeout` from now; after that they fail
    /// with [`RegistryError::Deadline`] instead of being sent or retried.
    #[must_use]
    pub fn with_deadline(&self, timeout: Duration) -> Self {
        Self { inner: Arc::clone(&self.inner), deadline: Some((Instant::now() + timeout, timeout)) }
    }

    /// The requests this client (and its clones) has sent so far, by kind.
    pub fn request_counts(&self) -> RequestCounts {
        self.inner.counters.snapshot()
    }

    /// Tells the client that this run will ask about `repository` on `host` (as written in
    /// image references), so that a token fetched for another repository of the same registry
    /// covers it too: with every repository announced up front, a token-auth registry gives
    /// one token for all of them instead of one per repository. Optional: the client also
    /// learns repositories from the requests made so far.
    pub fn announce(&self, host: &str, repository: &str) {
        let mut repositories = self.inner.repositories.lock().unwrap_or_else(PoisonError::into_inner);
        let host = api_host(host);
        // Every request announces its repository: copy the names only the first time.
        if repositories.get(host).is_some_and(|known| known.contains(repository)) {
            return;
        }
        repositories.entry(host.to_owned()).or_default().insert(repository.to_owned());
    }

    /// The settings of `host` (as written, or an API host), or the defaults.
    pub(crate) fn settings(&self, host: &str) -> HostSettings {
        self.inner.hosts.get(host).cloned().unwrap_or_default()
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
        let scheme = if self.settings(host).insecure || self.settings(api_host).insecure { "http" } else { "https" };
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

    /// Time left before the deadline; `Err` once it has passed.
    fn remaining(&self) -> Result<Duration, SendError> {
        match self.deadline {
            None => Ok(Duration::MAX),
            Some((at, timeout)) => at
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
                .ok_or(SendError::Deadline(timeout)),
        }
    }

    /// Sends one request and returns whatever the server answered at last.
    ///
    /// Every request of this module goes through here, token requests included. Each attempt
    /// waits for the host's rate limit and ends by the deadline; `408`, `429`, `5xx` and
    /// requests without a response are sent again after a backoff (or `Retry-After`), up to
    /// the configured attempts. The last answer is returned, whatever its status.
    pub(crate) async fn send(&self, request: Request, kind: RequestKind) -> Result<Response, SendError> {
        self.send_attempts(request, kind, self.inner.limits.attempts).await
    }

    /// [`RegistryClient::send`] with at most `attempts` attempts.
    pub(crate) async fn send_attempts(
        &self,
        request: Request,
        kind: RequestKind,
        attempts: u32,
    ) -> Result<Response, SendError> {
        self.inner.counters.request(kind);
        // Time waiting on the network for `--verbose`; ends when this call returns, however.
        let _waiting = stats::NetworkWait::start();
        let host = authority(request.url());
        let http = self.inner.host_http.get(&host).unwrap_or(&self.inner.http);
        let limits = &self.inner.limits;
        let mut current = request;
        let mut attempt = 1;
        loop {
            // Our requests have no streaming bodies, so they can always be cloned; one that
            // could not be is simply not retried.
            let spare = current.try_clone();
            let remaining = self.remaining()?;
            *current.timeout_mut() = Some(current.timeout().copied().unwrap_or(limits.request_timeout).min(remaining));
            self.pace(&host).await?;
            let outcome = http.execute(current).await;
            let retryable = match &outcome {
                Ok(response) if retry::is_retryable_status(response.status()) => Some(Some(response.headers())),
                Ok(_) => None,
                Err(error) if retry::is_retryable_error(error) => Some(None),
                Err(_) => None,
            };
            let wait = match (retryable, spare) {
                (Some(headers), Some(spare)) if attempt < attempts => {
                    Some((retry::delay(attempt - 1, headers, limits.backoff, limits.max_backoff), spare))
                }
                _ => None,
            };
            match wait {
                // Give up early when the wait would outlast the deadline: the last answer says more.
                Some((wait, spare)) if wait < self.remaining()? => {
                    drop(outcome);
                    tokio::time::sleep(wait).await;
                    self.inner.counters.retry();
                    attempt += 1;
                    current = spare;
                }
                _ => {
                    if outcome.as_ref().is_err_and(reqwest::Error::is_timeout) {
                        // A timeout cut short by the deadline is the deadline's failure.
                        self.remaining()?;
                    }
                    return outcome
                        .map(|mut response| {
                            response.extensions_mut().insert(Attempts(attempt));
                            response
                        })
                        .map_err(SendError::Http);
                }
            }
        }
    }

    /// Waits for `host`'s next free request slot, if it is rate limited.
    async fn pace(&self, host: &str) -> Result<(), SendError> {
        let Some(pacer) = self.inner.pacers.get(host) else {
            return Ok(());
        };
        let start = {
            let mut next = pacer.next.lock().await;
            let start = (*next).max(Instant::now());
            *next = start + pacer.interval;
            start
        };
        let wait = start.saturating_duration_since(Instant::now());
        if wait >= self.remaining()? {
            return Err(SendError::Deadline(self.deadline.map_or(Duration::ZERO, |(_, timeout)| timeout)));
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Sends a request to `endpoint`, authorised as the registry asks, and turns a non-success
    /// status into [`RegistryError::Status`].
    ///
    /// A cached token (or basic value) for the host and scope is sent up front. On `401`: a
    /// `Bearer` challenge gets a token from its realm (with the host's credentials, if any),
    /// a `Basic` challenge gets the host's credentials; then the request is sent once more.
    pub(crate) async fn fetch(
        &self,
        endpoint: &Endpoint,
        method: Method,
        url: Url,
        accept: &'static str,
        kind: RequestKind,
    ) -> Result<Response, RegistryError> {
        self.announce(&endpoint.api_host, &endpoint.repository);
        let scope = endpoint.pull_scope();
        let tokens = &self.inner.tokens;
        let cached = tokens.get(&endpoint.api_host, &scope).or_else(|| tokens.get(&endpoint.api_host, BASIC_SCOPE));
        let request = build_request(&method, &url, accept, cached.as_ref());
        let mut response = self.send(request, kind).await.map_err(|e| endpoint.send_error(e))?;
        let mut sent = cached.clone();

        if response.status() == StatusCode::UNAUTHORIZED {
            let challenges: Vec<_> = response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(auth::parse_challenges)
                .collect();
            let bearer = challenges.iter().find_map(auth::Challenge::bearer);
            // Whether the bearer token may not be this scope's alone (shared with other
            // repositories, or asked for with them).
            let mut shared = false;
            let header = if let Some(challenge) = &bearer {
                let (header, alone) = self.bearer_token(endpoint, challenge, &scope, cached.as_ref()).await?;
                shared = !alone;
                Some(header)
            } else if challenges.iter().any(|c| c.scheme.eq_ignore_ascii_case("basic")) {
                // Basic-only registries: send the host's credentials, if it has any.
                let header = self.credentials(endpoint).await?.basic_header();
                if let Some(header) = &header {
                    tokens.insert_forever(&endpoint.api_host, BASIC_SCOPE, header.clone());
                }
                header.filter(|header| Some(header) != cached.as_ref())
            } else {
                None
            };
            if let Some(header) = header {
                self.inner.counters.challenged(kind);
                let request = build_request(&method, &url, accept, Some(&header));
                response = self.send(request, kind).await.map_err(|e| endpoint.send_error(e))?;
                sent = Some(header);
            }
            // A token asked for several scopes that still does not open this repository: the
            // token server left its scope out (or read only one `scope`). Ask for it alone.
            if let (Some(challenge), true, StatusCode::UNAUTHORIZED) = (&bearer, shared, response.status()) {
                let (header, _) = self.bearer_token(endpoint, challenge, &scope, sent.as_ref()).await?;
                self.inner.counters.challenged(kind);
                let request = build_request(&method, &url, accept, Some(&header));
                response = self.send(request, kind).await.map_err(|e| endpoint.send_error(e))?;
                sent = Some(header);
            }
        }

        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let attempts = response.extensions().get::<Attempts>().map_or(1, |a| a.0);
        // The body is only for the message: if it cannot be read, report the status alone.
        let body = response.text().await.unwrap_or_default();
        Err(RegistryError::Status {
            registry: endpoint.registry.clone(),
            repository: endpoint.repository.clone(),
            request: describe(&method, &url),
            status,
            attempts,
            detail: redact(body_excerpt(&body), &self.known_secrets(&endpoint.registry, sent.as_ref())),
        })
    }

    /// A bearer token for `scope`: from the cache, or fetched once even when many requests ask
    /// at the same time. `rejected` is the value the registry just refused, never reused.
    ///
    /// The token is asked for `scope` and for the other repositories of the host that this
    /// run asks about (announced, or seen in requests) and that have no token yet and no
    /// fetch under way, up to [`MAX_SCOPES_PER_TOKEN`]: the token spec lets one token request
    /// name several scopes, and the token server grants what it may of them ("if the client
    /// only has a subset of the requested access it must not be considered an error"). So a
    /// run over many repositories of one registry asks for one token, not one per repository.
    ///
    /// The fallback is one scope per token: for a token the registry refused (a token granted
    /// without that repository, `rejected`), and on a host whose token endpoint refused a
    /// request for several scopes (the request is then sent again for `scope` alone).
    ///
    /// Also says whether the token was fetched for `scope` alone (`false` for a cached token,
    /// which may have been asked for with other scopes).
    async fn bearer_token(
        &self,
        endpoint: &Endpoint,
        challenge: &auth::BearerChallenge,
        scope: &str,
        rejected: Option<&HeaderValue>,
    ) -> Result<(HeaderValue, bool), RegistryError> {
        let host = &endpoint.api_host;
        let _guard = self.token_lock(host, scope).lock_owned().await;
        if let Some(token) = self.inner.tokens.get(host, scope).filter(|t| Some(t) != rejected) {
            return Ok((token, false));
        }
        // The other scopes' locks are held until their token is cached: requests for them
        // wait, then find it.
        let mut scopes = vec![scope.to_owned()];
        let mut held = Vec::new();
        if rejected.is_none() && !self.single_scope(host) {
            for other in self.known_scopes(host) {
                if scopes.len() >= MAX_SCOPES_PER_TOKEN {
                    break;
                }
                if other == scope || self.inner.tokens.get(host, &other).is_some() {
                    continue;
                }
                if let Ok(guard) = self.token_lock(host, &other).try_lock_owned() {
                    held.push(guard);
                    scopes.push(other);
                }
            }
        }
        let credentials = self.credentials(endpoint).await?;
        let mut fetched = self.fetch_token(challenge, &scopes, &credentials).await;
        if scopes.len() > 1 && matches!(fetched, Err(TokenError::Status { .. } | TokenError::InvalidJson { .. })) {
            self.inner.single_scope_hosts.lock().unwrap_or_else(PoisonError::into_inner).insert(host.clone());
            scopes.truncate(1);
            fetched = self.fetch_token(challenge, &scopes, &credentials).await;
        }
        let token = fetched.map_err(|source| match source {
            TokenError::Deadline { timeout } => endpoint.deadline_error(timeout),
            source => RegistryError::Token {
                registry: endpoint.registry.clone(),
                repository: endpoint.repository.clone(),
                source,
            },
        })?;
        let header = token.header.clone();
        for scope in &scopes {
            self.inner.tokens.insert(host, scope, token.clone());
        }
        drop(held);
        Ok((header, scopes.len() == 1))
    }

    /// The lock of token fetches for `scope` on `host`.
    fn token_lock(&self, host: &str, scope: &str) -> TokenLock {
        let mut locks = self.inner.token_locks.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry((host.to_owned(), scope.to_owned())).or_default())
    }

    /// The pull scopes of the repositories of `host` this run asks about.
    fn known_scopes(&self, host: &str) -> Vec<String> {
        let repositories = self.inner.repositories.lock().unwrap_or_else(PoisonError::into_inner);
        repositories.get(host).into_iter().flatten().map(|repository| pull_scope(repository)).collect()
    }

    /// Whether `host`'s token endpoint only gives tokens for one scope at a time.
    fn single_scope(&self, host: &str) -> bool {
        self.inner.single_scope_hosts.lock().unwrap_or_else(PoisonError::into_inner).contains(host)
    }

    /// What a registry's answer must not repeat in a message: the `Authorization` value sent,
    /// and the credentials of `registry` if they were looked up (never looked up for this).
    fn known_secrets(&self, registry: &str, sent: Option<&HeaderValue>) -> Vec<String> {
        let cells = self.inner.credentials.lock().unwrap_or_else(PoisonError::into_inner);
        let credentials = cells.get(registry).and_then(|cell| cell.get()).map(Credentials::secrets);
        credentials.unwrap_or_default().into_iter().chain(sent.and_then(authorization_secret)).collect()
    }

    /// The credentials for `endpoint`'s registry, looked up once per host and run.
    async fn credentials(&self, endpoint: &Endpoint) -> Result<Credentials, RegistryError> {
        self.host_credentials(&endpoint.registry).await
    }

    /// The credentials for `registry` (a host as written), looked up once per host and run;
    /// shared by requests and by the cache's credential identity.
    pub(crate) async fn host_credentials(&self, registry: &str) -> Result<Credentials, RegistryError> {
        let cell = {
            let mut cells = self.inner.credentials.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cells.entry(registry.to_owned()).or_default())
        };
        cell.get_or_try_init(|| self.lookup_credentials(registry))
            .await
            .cloned()
            .map_err(|source| RegistryError::Credentials { registry: registry.to_owned(), source })
    }

    /// Looks up credentials for `host`: config files and helpers, then Google's sources for
    /// Google hosts; anonymous when nothing applies.
    async fn lookup_credentials(&self, host: &str) -> Result<Credentials, credentials::CredentialError> {
        let settings = self.settings(host);
        if settings.credentials == CredentialSource::Anonymous {
            return Ok(Credentials::Anonymous);
        }
        let inner = Arc::clone(&self.inner);
        let owned_host = host.to_owned();
        let found = tokio::task::spawn_blocking(move || {
            credentials::from_config_files(&inner.env, &owned_host, inner.limits.helper_timeout, || {
                inner.counters.helper();
            })
        })
        .await
        .map_err(|_| credentials::CredentialError::Helper {
            program: "credential lookup".to_owned(),
            server: host.to_owned(),
            reason: "the lookup thread failed".to_owned(),
        })??;
        if let Some(found) = found {
            return Ok(found);
        }
        let google = settings.credentials == CredentialSource::Google;
        if google || credentials::is_google_host(host) {
            return self.google_credentials(host, google).await;
        }
        Ok(Credentials::Anonymous)
    }

    /// `oauth2accesstoken` + an access token from the metadata server or `gcloud`. When
    /// neither gives one: an error if the host was configured as Google (`required`), else
    /// anonymous access (public repositories).
    async fn google_credentials(
        &self,
        host: &str,
        required: bool,
    ) -> Result<Credentials, credentials::CredentialError> {
        let metadata_first = self.inner.env.metadata_host.is_some();
        let mut reasons = Vec::new();
        for use_metadata in [metadata_first, !metadata_first] {
            let token = if use_metadata { self.metadata_token().await } else { self.gcloud_token().await };
            match token {
                Ok(token) => {
                    return Ok(Credentials::Basic { username: credentials::GOOGLE_USER.to_owned(), password: token });
                }
                Err(reason) => reasons.push(reason),
            }
        }
        if required {
            Err(credentials::CredentialError::Google { host: host.to_owned(), reason: reasons.join("; ") })
        } else {
            Ok(Credentials::Anonymous)
        }
    }

    /// An access token from the GCE metadata server (`$GCE_METADATA_HOST` if set).
    async fn metadata_token(&self) -> Result<credentials::Secret, String> {
        #[derive(serde::Deserialize)]
        struct MetadataToken {
            access_token: String,
        }
        let url = self.inner.env.metadata_token_url();
        let failed = |reason: &str| format!("metadata server `{url}`: {reason}");
        let parsed = Url::parse(&url).map_err(|_| failed("invalid URL"))?;
        let mut request = Request::new(Method::GET, parsed);
        request.headers_mut().insert("metadata-flavor", HeaderValue::from_static("Google"));
        let attempts = if self.inner.env.metadata_host.is_some() {
            self.inner.limits.attempts
        } else {
            *request.timeout_mut() = Some(METADATA_PROBE_TIMEOUT);
            1
        };
        let response =
            self.send_attempts(request, RequestKind::Metadata, attempts).await.map_err(|error| match error {
                SendError::Http(_) => failed("no answer"),
                SendError::Deadline(_) => failed("the deadline passed"),
            })?;
        if !response.status().is_success() {
            return Err(failed(&format!("answered `{}`", response.status())));
        }
        let body = response.bytes().await.map_err(|_| failed("no answer"))?;
        let token: MetadataToken = serde_json::from_slice(&body).map_err(|_| failed("sent no access token"))?;
        if token.access_token.is_empty() {
            return Err(failed("sent an empty access token"));
        }
        Ok(credentials::Secret::new(token.access_token))
    }

    /// An access token from `gcloud auth print-access-token`, run off the async threads.
    async fn gcloud_token(&self) -> Result<credentials::Secret, String> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            inner.counters.helper();
            credentials::gcloud_token(inner.limits.helper_timeout)
        })
        .await
        .map_err(|_| "the `gcloud` thread failed".to_owned())?
    }

    /// Whether credentials may go to `url` in the clear: it is `https`, or its host is marked
    /// insecure (a local registry's token server).
    pub(crate) fn may_send_credentials(&self, url: &Url) -> bool {
        url.scheme() == "https" || self.settings(&authority(url)).insecure
    }
}

/// The scope a pull token for `repository` is requested with.
fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// Reads the CA certificates of `host`'s `caFile`.
fn read_ca_file(host: &str, path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, RegistryError> {
    let failed = |reason: String| RegistryError::CaFile { host: host.to_owned(), path: path.to_owned(), reason };
    let pem = std::fs::read(path).map_err(|error| failed(error.to_string()))?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| failed("not PEM certificates".into()))?;
    if certificates.is_empty() {
        return Err(failed("no certificate in it".to_owned()));
    }
    Ok(certificates)
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
    if credentials::is_docker_hub(host) { DOCKER_HUB_API_HOST } else { host }
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
    use crate::registry::settings::RegistrySettings;

    fn client(insecure_hosts: &[&str]) -> RegistryClient {
        let settings: HashMap<String, RegistrySettings> =
            insecure_hosts.iter().map(|h| ((*h).to_owned(), RegistrySettings { insecure: true })).collect();
        RegistryClient::new(settings).expect("client builds")
    }

    #[test]
    fn endpoints() {
        let client = client(&["127.0.0.1:5000"]);
        let local = client.endpoint("127.0.0.1:5000", "backend/server").expect("valid");
        assert_eq!(local.url("tags/list").expect("url").as_str(), "http://127.0.0.1:5000/v2/backend/server/tags/list");
        for hub in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            let endpoint = client.endpoint(hub, "library/nginx").expect("valid");
            assert_eq!(
                endpoint.url("manifests/1.27").expect("url").as_str(),
                "https://registry-1.docker.io/v2/library/nginx/manifests/1.27"
            );
        }
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
        assert_eq!(authority(&url), "ghcr.io");
        assert_eq!(authority(&Url::parse("http://127.0.0.1:5000/v2/").expect("url")), "127.0.0.1:5000");
    }

    #[test]
    fn new_twice() {
        // The crypto provider may already be installed: building a second client must work.
        let _first = client(&[]);
        let _second = client(&[]);
    }

    #[test]
    fn ca_file_errors_name_the_host_and_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        let settings = HashMap::from([(
            "r.example".to_owned(),
            HostSettings { ca_file: Some(path.clone()), ..HostSettings::default() },
        )]);
        let error = RegistryClient::new(settings).expect_err("no certificate");
        assert_eq!(
            error.to_string(),
            format!("cannot use the CA file `{}` of registry `r.example`: no certificate in it", path.display())
        );
    }

    #[test]
    fn credentials_go_only_to_https_or_insecure_hosts() {
        let client = client(&["127.0.0.1:5000"]);
        assert!(client.may_send_credentials(&Url::parse("https://auth.example/token").expect("url")));
        assert!(client.may_send_credentials(&Url::parse("http://127.0.0.1:5000/token").expect("url")));
        assert!(!client.may_send_credentials(&Url::parse("http://auth.example/token").expect("url")));
    }
}
