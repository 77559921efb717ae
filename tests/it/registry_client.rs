//! The registry client against the real test registry and its paginating and token proxies.

use std::collections::HashMap;
use std::error::Error as _;

use imgpolicy::registry::{RegistryClient, RegistryError, RegistrySettings, TokenError};

use crate::registry::TestRegistry;

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
async fn token_endpoint_refusal_is_reported() {
    let registry = TestRegistry::shared();
    let host = registry.token_auth_host();
    let err = client().list_tags(host, "denied/app").await.expect_err("refused token");
    let Some(TokenError::Status { status, .. }) = err.source().and_then(|s| s.downcast_ref::<TokenError>()) else {
        panic!("expected a token status error, got {err:?}");
    };
    assert_eq!(status.as_u16(), 403);
    assert_eq!(
        chain(&err),
        format!(
            "cannot get a pull token for `denied/app` on registry `{host}`\n\
             caused by: token endpoint `http://{host}/token` answered `403 Forbidden`: \
             DENIED: access to the requested resource is denied"
        )
    );
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
    let client = RegistryClient::new(HashMap::new()).expect("client");
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
