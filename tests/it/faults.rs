//! Registry faults through the KRM function: `429` with `Retry-After`, `503` bursts, resets,
//! stalls past the deadline, cut-off and truncated bodies, wrong content types. Every run ends
//! in the right value after retries, or in exit 1 with error results and the items exactly as
//! they came, within the deadline: never a wrong value.
//!
//! (The client-level retry tests are in `registry_client.rs`; these run the binary.)

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::harness::{Output, Test};
use crate::scripted_registry::{Images, OCI_MANIFEST, Reply, ScriptedRegistry, header, resource_list};

const REPOSITORY: &str = "team/app";

fn images() -> Images {
    Images::new(REPOSITORY, &["1.0.0", "1.1.0", "2.0.0", "2.1.0-rc.1"])
}

/// A registry holding [`images`] that serves each fault once, in order, to the first request
/// whose path ends with the fault's suffix, and answers normally otherwise.
fn faulty(faults: Vec<(&'static str, Reply)>) -> ScriptedRegistry {
    let queue = Mutex::new(VecDeque::from(faults));
    let images = images();
    ScriptedRegistry::start(move |request| {
        let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
        match queue.iter().position(|(suffix, _)| request.path.ends_with(suffix)) {
            Some(index) => queue.remove(index).map(|(_, reply)| reply).expect("queued"),
            None => images.answer(request),
        }
    })
}

/// What one run of the function over `registry` is given and gives.
struct Run {
    input: String,
    output: Output,
    elapsed: Duration,
}

/// Runs the function with one marked image at `1.0.0`, its digest reflected, and `spec_extra`.
fn run(registry: &ScriptedRegistry, spec_extra: &str) -> Run {
    let input = resource_list(
        &registry.host,
        REPOSITORY,
        "1.0.0",
        "semver: {range: '>=1.0.0'}",
        ", digestReflectionPolicy: Always",
        spec_extra,
    );
    let started = Instant::now();
    let output = Test::new().stdin(input.as_str()).env("DOCKER_CONFIG", "/nonexistent").run();
    Run { input, output, elapsed: started.elapsed() }
}

impl Run {
    /// Exit 0, and the one marked value is exactly the newest tag with its digest.
    #[track_caller]
    fn assert_right(&self, host: &str) {
        let expected = format!("{host}/{REPOSITORY}:2.0.0@{}", images().digest("2.0.0"));
        assert_eq!(self.output.status, 0, "{}", self.output.transcript());
        let (items, results) = self.output.stdout.split_once("results:\n").expect("results");
        assert_eq!(items, self.input.replace(&format!("{host}/{REPOSITORY}:1.0.0 #"), &format!("{expected} #")));
        assert!(results.contains(&format!("-> {expected}")), "{results}");
    }

    /// Exit 1, error results, and the items as they came.
    #[track_caller]
    fn assert_unchanged_failure(&self, message: &str) {
        assert_eq!(self.output.status, 1, "{}", self.output.transcript());
        let (items, results) = self.output.stdout.split_once("results:\n").expect("results");
        assert_eq!(items, self.input, "items must be unchanged on failure");
        assert!(results.contains("severity: error") && !results.contains("severity: info"), "{results}");
        assert!(results.contains(message), "expected `{message}` in:\n{results}");
    }
}

#[test]
fn too_many_requests_waits_for_retry_after_then_writes_the_right_value() {
    let registry = faulty(vec![("tags/list", Reply::error(429, "TOOMANYREQUESTS").with("Retry-After", "1"))]);
    let run = run(&registry, "");
    run.assert_right(&registry.host);
    let requests = registry.requests();
    let waited = requests[1].at - requests[0].at;
    assert!(waited >= Duration::from_millis(950), "Retry-After: 1 not honoured: {waited:?}");
}

#[test]
fn bursts_of_503_and_connection_resets_are_retried() {
    let registry = faulty(vec![
        ("tags/list", Reply::error(503, "UNAVAILABLE")),
        ("tags/list", Reply::error(503, "UNAVAILABLE")),
        ("tags/list", Reply::Reset),
        ("manifests/2.0.0", Reply::Reset),
        ("manifests/2.0.0", Reply::error(502, "BAD_GATEWAY")),
    ]);
    let run = run(&registry, "");
    run.assert_right(&registry.host);
    assert_eq!(registry.request_lines().len(), 7, "{:?}", registry.request_lines());
}

#[test]
fn a_registry_that_keeps_failing_ends_in_an_error_after_the_attempts() {
    let registry = faulty(vec![("tags/list", Reply::error(503, "UNAVAILABLE")); 10]);
    let run = run(&registry, "");
    run.assert_unchanged_failure(
        "answered `503 Service Unavailable` to `GET /v2/team/app/tags/list` for `team/app` (after 4 attempts)",
    );
    assert_eq!(registry.requests().len(), 4);
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
}

#[test]
fn a_digest_lookup_that_keeps_failing_voids_every_edit() {
    let registry = faulty(vec![("manifests/2.0.0", Reply::Reset); 4]);
    run(&registry, "").assert_unchanged_failure("looking up the digest of");
}

#[test]
fn a_body_stalling_past_the_deadline_fails_within_it() {
    let images = images();
    let body = images.tag_list();
    let sent = body.len() / 2;
    let stall = Duration::from_secs(30);
    let cut = Reply::Cut { status: 200, headers: vec![header("Content-Type", "application/json")], body, sent, stall };
    let registry = faulty(vec![("tags/list", cut)]);
    let run = run(&registry, "    timeout: 2s\n");
    run.assert_unchanged_failure("listing tags of");
    assert!(run.elapsed < Duration::from_secs(8), "the 2s deadline was not kept: {:?}", run.elapsed);
}

#[test]
fn a_response_stalling_before_its_headers_fails_within_the_deadline() {
    let registry = faulty(vec![("manifests/2.0.0", Reply::Stall(Duration::from_secs(30))); 4]);
    let run = run(&registry, "    timeout: 2s\n");
    run.assert_unchanged_failure("the registry deadline of 2s passed");
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
}

#[test]
fn a_connection_closed_mid_body_is_an_error_not_a_short_list() {
    let body = images().tag_list();
    let sent = body.len() / 2;
    let cut = Reply::Cut { status: 200, headers: vec![], body, sent, stall: Duration::ZERO };
    let registry = faulty(vec![("tags/list", cut)]);
    run(&registry, "").assert_unchanged_failure("listing tags of `");
}

#[test]
fn truncated_json_is_an_error_not_a_short_list() {
    // The length matches what is sent: only the JSON shows the cut.
    let body = images().tag_list();
    let truncated = body[..body.len() - 12].to_vec();
    let registry = faulty(vec![("tags/list", Reply::json(200, truncated))]);
    run(&registry, "").assert_unchanged_failure("sent an invalid response to `GET /v2/team/app/tags/list`");
}

#[test]
fn an_html_page_instead_of_a_tag_list_is_an_error() {
    let page = Reply::Respond {
        status: 200,
        headers: vec![header("Content-Type", "text/html")],
        body: b"<html><body>Sign in to continue</body></html>".to_vec(),
    };
    let registry = faulty(vec![("tags/list", page)]);
    run(&registry, "").assert_unchanged_failure("sent an invalid response to `GET /v2/team/app/tags/list`");
}

#[test]
fn a_tag_list_with_a_wrong_content_type_but_valid_json_is_read() {
    let plain =
        Reply::Respond { status: 200, headers: vec![header("Content-Type", "text/plain")], body: images().tag_list() };
    let registry = faulty(vec![("tags/list", plain)]);
    run(&registry, "").assert_right(&registry.host);
}

#[test]
fn a_login_page_instead_of_a_manifest_is_never_hashed_into_a_digest() {
    // No `Docker-Content-Digest` on HEAD: the client GETs the manifest and hashes it, which must
    // not happen to an HTML page (or a cut-off manifest): the digest would name nothing.
    let images = images();
    let head = Reply::Respond { status: 200, headers: vec![header("Content-Type", OCI_MANIFEST)], body: Vec::new() };
    let html = Reply::Respond {
        status: 200,
        headers: vec![header("Content-Type", "text/html")],
        body: b"<html>login</html>".to_vec(),
    };
    let manifest = images.manifest("2.0.0");
    let cut = Reply::json(200, manifest[..manifest.len() / 2].to_vec());
    for bad in [html, cut] {
        let registry = faulty(vec![("manifests/2.0.0", head.clone()), ("manifests/2.0.0", bad)]);
        let run = run(&registry, "");
        run.assert_unchanged_failure("sent an invalid response to `GET /v2/team/app/manifests/2.0.0`");
        assert_eq!(
            registry.request_lines()[1..],
            ["HEAD /v2/team/app/manifests/2.0.0", "GET /v2/team/app/manifests/2.0.0"]
        );
    }
    // The same fallback with the real manifest gives its digest.
    let registry = faulty(vec![("manifests/2.0.0", head)]);
    run(&registry, "").assert_right(&registry.host);
}

#[test]
fn on_error_keep_leaves_the_value_and_warns() {
    let registry = faulty(vec![("tags/list", Reply::error(503, "UNAVAILABLE")); 4]);
    let run = run(&registry, "    onError: keep\n");
    assert_eq!(run.output.status, 0, "{}", run.output.transcript());
    let (items, results) = run.output.stdout.split_once("results:\n").expect("results");
    assert_eq!(items, run.input);
    assert!(results.contains("severity: warning") && results.contains("value left as it is"), "{results}");
}
