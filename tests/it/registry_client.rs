//! The registry client against the real test registry and its paginating and token proxies.

use std::collections::HashMap;
use std::error::Error as _;

use imgpolicy::registry::{ClientLimits, HostSettings, RegistryClient, RegistryError, RegistrySettings, TokenError};

use std::time::Duration;

use crate::registry::{Fault, TestRegistry};

/// A client that speaks plain HTTP to the test registry and its proxies.
fn client() -> RegistryClient {
    let registry = TestRegistry::shared();
    let settings: HashMap<_, _> = [registry.host(), registry.paginating_host(), registry.token_auth_host()]
        .into_iter()
        .map(|host| (host.to_owned(), RegistrySettings { insecure: true }))
        .collect();
    RegistryClient::new(settings).expect("client")
}

fn sorted(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags
}

fn expected_tags(repo: &str) -> Vec<String> {
    sorted(TestRegistry::shared().tags(repo).into_iter().map(str::to_owned).collect())
}

/// The error and its sources, one per line, as the binary prints them.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!("\ncaused by: {cause}"));
        source = cause.source();
    }
    text
}

/// The error chain of the test token endpoint refusing a pull token for `denied/app`.
fn denied_app_refused(host: &str) -> String {
    format!(
        "cannot get a pull token for `denied/app` on registry `{host}`\n\
         caused by: token endpoint `http://{host}/token` answered `403 Forbidden`: \
         DENIED: access to the requested resource is denied"
    )
}

#[tokio::test]
async fn lists_all_tags() {
    let registry = TestRegistry::shared();
    let tags = client().list_tags(registry.host(), "backend/server").await.expect("tags");
    assert_eq!(tags.len(), 8, "{tags:?}");
    assert_eq!(sorted(tags), expected_tags("backend/server"));
    for repo in ["team/app", "multi/arch", "numbers/build"] {
        let tags = client().list_tags(registry.host(), repo).await.expect("tags");
        assert_eq!(sorted(tags), expected_tags(repo), "{repo}");
    }
}

#[tokio::test]
async fn follows_link_pagination() {
    let registry = TestRegistry::shared();
    let client = client();
    // Pages of two, sorted by the proxy: the order shows every page was read in turn.
    for repo in ["backend/server", "team/app", "multi/arch", "numbers/build"] {
        let tags = client.list_tags(registry.paginating_host(), repo).await.expect("tags");
        assert_eq!(tags, expected_tags(repo), "{repo}");
    }
}

#[tokio::test]
async fn digests_of_single_arch_images_and_indexes() {
    let registry = TestRegistry::shared();
    let client = client();
    for (repo, tag) in [
        ("backend/server", "1.0.0"),
        ("backend/server", "latest"),
        ("backend/server", "sha256-0123abcd.sig"),
        ("team/app", "1.0.1"),
        ("multi/arch", "1.0.0"),
        ("multi/arch", "1.1.0"),
        ("numbers/build", "10"),
    ] {
        let digest = client.manifest_digest(registry.host(), repo, tag).await.expect("digest");
        assert_eq!(digest, registry.digest(repo, tag), "{repo}:{tag}");
    }
    // A digest resolves to itself.
    let index = registry.digest("multi/arch", "1.0.0");
    let again = client.manifest_digest(registry.host(), "multi/arch", index).await.expect("digest");
    assert_eq!(again, index);
}

#[tokio::test]
async fn digests_without_the_digest_header_hash_the_manifest() {
    // The paginating proxy drops `Docker-Content-Digest`: the client falls back to `GET`.
    let registry = TestRegistry::shared();
    let client = client();
    for (repo, tag) in [("backend/server", "1.1.0"), ("team/app", "2.0.0"), ("multi/arch", "1.1.0")] {
        let digest = client.manifest_digest(registry.paginating_host(), repo, tag).await.expect("digest");
        assert_eq!(digest, registry.digest(repo, tag), "{repo}:{tag}");
    }
}

#[tokio::test]
async fn unknown_repository_is_an_error_naming_it() {
    let registry = TestRegistry::shared();
    let err = client().list_tags(registry.host(), "nope/missing").await.expect_err("unknown repository");
    assert!(matches!(&err, RegistryError::Status { status, .. } if status.as_u16() == 404), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "registry `{}` answered `404 Not Found` to `GET /v2/nope/missing/tags/list` for \
             `nope/missing`: NAME_UNKNOWN: repository name not known to registry",
            registry.host()
        )
    );
}

#[tokio::test]
async fn unknown_tag_is_an_error_naming_it() {
    let registry = TestRegistry::shared();
    let err = client().manifest_digest(registry.host(), "backend/server", "9.9.9").await.expect_err("unknown tag");
    assert_eq!(
        err.to_string(),
        format!(
            "registry `{}` answered `404 Not Found` to `HEAD /v2/backend/server/manifests/9.9.9` \
             for `backend/server`",
            registry.host()
        )
    );
}

#[tokio::test]
async fn anonymous_bearer_tokens_are_fetched_and_reused() {
    let registry = TestRegistry::shared();
    let host = registry.token_auth_host();
    let client = client();
    // Only this test uses `numbers/build` through the token proxy.
    let tags = client.list_tags(host, "numbers/build").await.expect("tags");
    assert_eq!(sorted(tags), expected_tags("numbers/build"));
    let digest = client.manifest_digest(host, "numbers/build", "10").await.expect("digest");
    assert_eq!(digest, registry.digest("numbers/build", "10"));
    // Clones share the cache.
    let clone = client.clone();
    clone.list_tags(host, "numbers/build").await.expect("tags");
    assert_eq!(registry.token_requests("numbers/build"), 1);
    // A new client starts with an empty cache.
    let digest = self::client().manifest_digest(host, "numbers/build", "9").await.expect("digest");
    assert_eq!(digest, registry.digest("numbers/build", "9"));
    assert_eq!(registry.token_requests("numbers/build"), 2);
}

#[tokio::test]
async fn one_token_covers_the_repositories_of_a_registry() {
    let registry = TestRegistry::shared();
    let host = registry.token_auth_host();
    let client = client();
    let repositories = ["team/app", "backend/server", "multi/arch"];
    for repository in repositories {
        client.announce(host, repository);
    }
    for repository in repositories {
        assert_eq!(sorted(client.list_tags(host, repository).await.expect("tags")), expected_tags(repository));
    }
    let counts = client.request_counts();
    // The first listing is challenged and gets one token for all three; the others send it.
    assert_eq!((counts.tokens, counts.challenged, counts.tag_pages), (1, 1, 3), "{counts:?}");
}

#[tokio::test]
async fn a_token_that_leaves_out_a_repository_is_followed_by_its_own() {
    let registry = TestRegistry::shared();
    let host = registry.token_auth_host();
    let client = client();
    client.announce(host, "team/web");
    client.announce(host, "denied/app");
    client.list_tags(host, "team/web").await.expect("tags");
    // The shared token does not grant `denied/app`: refused, it asks for a token of its own,
    // which the endpoint refuses, and that is the error.
    let err = client.list_tags(host, "denied/app").await.expect_err("refused token");
    assert_eq!(chain(&err), denied_app_refused(host));
    assert_eq!(client.request_counts().tokens, 2);
}

#[tokio::test]
async fn a_fresh_shared_token_that_leaves_out_a_repository_is_followed_by_its_own() {
    let registry = TestRegistry::shared();
    let host = registry.token_auth_host();
    let client = client();
    // Both listings are challenged at once: one token is asked for both scopes, and granted
    // for `team/web` only. `denied/app`, refused again with it, asks for a token of its own.
    let (web, denied) = tokio::join!(client.list_tags(host, "team/web"), client.list_tags(host, "denied/app"));
    assert_eq!(sorted(web.expect("tags")), expected_tags("team/web"));
    let err = denied.expect_err("refused token");
    assert_eq!(chain(&err), denied_app_refused(host));
    assert_eq!(client.request_counts().tokens, 2);
}

#[tokio::test]
async fn token_endpoint_refusal_is_reported() {
    let registry = TestRegistry::shared();
    let host = registry.token_auth_host();
    let err = client().list_tags(host, "denied/app").await.expect_err("refused token");
    let Some(TokenError::Status { status, .. }) = err.source().and_then(|s| s.downcast_ref::<TokenError>()) else {
        panic!("expected a token status error, got {err:?}");
    };
    assert_eq!(status.as_u16(), 403);
    assert_eq!(chain(&err), denied_app_refused(host));
    assert!(!chain(&err).contains("test-token"), "no token in messages");
}

#[tokio::test]
async fn unreachable_registry_is_a_connect_error() {
    // A port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let host = format!("127.0.0.1:{port}");
    let settings = HashMap::from([(host.clone(), RegistrySettings { insecure: true })]);
    let client = RegistryClient::new(settings).expect("client");
    let err = client.list_tags(&host, "backend/server").await.expect_err("nothing listens");
    assert!(matches!(err, RegistryError::Connect { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("cannot reach registry `{host}` for `backend/server`"));
}

#[tokio::test]
async fn https_is_the_default() {
    // Without `insecure`, the client speaks TLS, which the plain-HTTP registry cannot answer.
    let registry = TestRegistry::shared();
    let client = RegistryClient::new(HashMap::<String, HostSettings>::new()).expect("client");
    let err = client.list_tags(registry.host(), "backend/server").await.expect_err("TLS to a plain HTTP port");
    assert!(matches!(err, RegistryError::Connect { .. }), "{err:?}");
    assert!(chain(&err).contains(&format!("https://{}/", registry.host())), "{}", chain(&err));
}

#[tokio::test]
async fn invalid_names_are_refused_before_any_request() {
    let client = client();
    let err = client.manifest_digest("127.0.0.1:1", "backend/server", "bad tag").await.expect_err("invalid tag");
    assert_eq!(err.to_string(), "invalid tag or digest `bad tag` for `127.0.0.1:1/backend/server`");
    let err = client.list_tags("127.0.0.1:1", "../etc").await.expect_err("invalid repository");
    assert_eq!(err.to_string(), "invalid repository `../etc` for registry `127.0.0.1:1`");
}

// ---------------------------------------------------------------------------------------------
// Retries, pagination settings, pacing and the deadline, through proxies that misbehave

/// A client for `hosts` (plain HTTP) with quick backoff, so retry tests stay fast.
fn quick_client(hosts: &[(&str, HostSettings)]) -> RegistryClient {
    let settings: HashMap<String, HostSettings> = hosts
        .iter()
        .map(|(host, settings)| ((*host).to_owned(), HostSettings { insecure: true, ..settings.clone() }))
        .collect();
    let limits = ClientLimits { backoff: Duration::from_millis(20), ..ClientLimits::default() };
    RegistryClient::with_limits(settings, limits).expect("client")
}

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let registry = TestRegistry::shared();
    let proxy = registry.faulty_proxy(vec![Fault::TooManyRequests("1")], false);
    let client = quick_client(&[(&proxy.host, HostSettings::default())]);
    let tags = client.list_tags(&proxy.host, "team/app").await.expect("tags after a retry");
    assert_eq!(sorted(tags), expected_tags("team/app"));
    let requests = proxy.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let waited = requests[1].at - requests[0].at;
    assert!(waited >= Duration::from_millis(950), "Retry-After: 1 was not honoured: {waited:?}");
    assert_eq!(client.request_counts().retries, 1);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let registry = TestRegistry::shared();
    // A date in the past: retry at once.
    let proxy = registry.faulty_proxy(vec![Fault::TooManyRequests("Thu, 01 Jan 1970 00:00:00 GMT")], false);
    let client = quick_client(&[(&proxy.host, HostSettings::default())]);
    let digest = client.manifest_digest(&proxy.host, "team/app", "1.0.0").await.expect("digest");
    assert_eq!(digest, registry.digest("team/app", "1.0.0"));
    assert_eq!(proxy.requests().len(), 2);
}

#[tokio::test]
async fn pagination_survives_503_bursts_and_connection_resets() {
    let registry = TestRegistry::shared();
    // Page 1 fails twice, then the pages come; the resets hit later pages.
    let faults = vec![Fault::Unavailable, Fault::Unavailable, Fault::Reset];
    let proxy = registry.faulty_proxy(faults, true);
    let client = quick_client(&[(&proxy.host, HostSettings::default())]);
    let tags = client.list_tags(&proxy.host, "backend/server").await.expect("tags");
    assert_eq!(tags, expected_tags("backend/server"), "pages in order, none lost");
    let counts = client.request_counts();
    assert_eq!((counts.tag_pages, counts.retries), (4, 3), "{counts:?}");
    let lines = proxy.request_lines();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert!(lines[..3].iter().all(|l| l == "GET /v2/backend/server/tags/list"), "{lines:?}");
}

#[tokio::test]
async fn gives_up_after_the_configured_attempts() {
    let registry = TestRegistry::shared();
    let proxy = registry.faulty_proxy(vec![Fault::Unavailable; 10], false);
    let client = quick_client(&[(&proxy.host, HostSettings::default())]);
    let err = client.list_tags(&proxy.host, "team/app").await.expect_err("503 every time");
    assert_eq!(
        err.to_string(),
        format!(
            "registry `{}` answered `503 Service Unavailable` to `GET /v2/team/app/tags/list` for `team/app` \
             (after 4 attempts): UNAVAILABLE: try again later",
            proxy.host
        )
    );
    assert_eq!(proxy.requests().len(), 4);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let registry = TestRegistry::shared();
    let proxy = registry.logging_proxy();
    let client = quick_client(&[(&proxy.host, HostSettings::default())]);
    client.list_tags(&proxy.host, "nope/missing").await.expect_err("404");
    assert_eq!(proxy.requests().len(), 1);
}

#[tokio::test]
async fn page_size_is_sent_and_links_followed() {
    let registry = TestRegistry::shared();
    let proxy = registry.faulty_proxy(Vec::new(), true);
    let client = quick_client(&[(&proxy.host, HostSettings { page_size: Some(3), ..HostSettings::default() })]);
    let tags = client.list_tags(&proxy.host, "backend/server").await.expect("tags");
    assert_eq!(tags, expected_tags("backend/server"));
    let lines = proxy.request_lines();
    assert_eq!(lines.len(), 3, "8 tags in pages of 3: {lines:?}");
    assert_eq!(lines[0], "GET /v2/backend/server/tags/list?n=3");
    assert!(lines[1].starts_with("GET /v2/backend/server/tags/list?n=3&last="), "{lines:?}");
}

#[tokio::test]
async fn requests_per_second_paces_requests() {
    let registry = TestRegistry::shared();
    let proxy = registry.logging_proxy();
    let settings = HostSettings { requests_per_second: Some(10.0), ..HostSettings::default() };
    let client = quick_client(&[(&proxy.host, settings)]);
    let started = std::time::Instant::now();
    let lookups = ["1.0.0", "1.0.1", "1.1.0", "2.0.0", "1.0.0", "1.0.1"]
        .map(|tag| client.manifest_digest(&proxy.host, "team/app", tag));
    for digest in futures_join(lookups).await {
        digest.expect("digest");
    }
    // Six requests at ten a second: the last may start 0.5 s after the first. Only this lower
    // bound is asserted: gaps between arrivals at the proxy also depend on how the machine
    // schedules the proxy's threads, which load can bunch up.
    assert!(started.elapsed() >= Duration::from_millis(480), "{:?}", started.elapsed());
    assert_eq!(proxy.requests().len(), 6);
}

/// Awaits every future concurrently on the current task (no `futures` crate needed).
async fn futures_join<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send,
{
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

#[tokio::test]
async fn the_deadline_ends_a_hanging_request_with_a_clear_error() {
    let registry = TestRegistry::shared();
    let proxy = registry.faulty_proxy(vec![Fault::Hang(Duration::from_secs(20))], false);
    let client = quick_client(&[(&proxy.host, HostSettings::default())]).with_deadline(Duration::from_secs(1));
    let started = std::time::Instant::now();
    let err = client.list_tags(&proxy.host, "team/app").await.expect_err("deadline");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(matches!(err, RegistryError::Deadline { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "gave up on `{}/team/app`: the registry deadline of 1s passed (raise `spec.timeout` to wait longer)",
            proxy.host
        )
    );
}

#[tokio::test]
async fn platform_digests_come_from_the_index() {
    let registry = TestRegistry::shared();
    let client = client();
    let arm64: imgpolicy::registry::Platform = "linux/arm64".parse().expect("platform");
    let digest =
        client.platform_digest(registry.host(), "multi/arch", "1.1.0", Some(&arm64)).await.expect("arm64 digest");
    assert_eq!(digest, registry.child_digest("multi/arch", "1.1.0", "linux/arm64"));
    // A single-platform image has only its own digest.
    let digest = client.platform_digest(registry.host(), "team/app", "1.0.0", Some(&arm64)).await.expect("digest");
    assert_eq!(digest, registry.digest("team/app", "1.0.0"));
    let s390x: imgpolicy::registry::Platform = "linux/s390x".parse().expect("platform");
    let err = client.platform_digest(registry.host(), "multi/arch", "1.1.0", Some(&s390x)).await.expect_err("none");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}/multi/arch:1.1.0` has no manifest for platform `linux/s390x` (it has: linux/amd64, linux/arm64)",
            registry.host()
        )
    );
}
