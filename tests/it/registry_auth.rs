//! The binary against registries that need credentials and TLS: Docker `config.json`,
//! credential helpers, identity tokens, Google's metadata server, `caFile` and `SSL_CERT_FILE`,
//! redirects, the deadline, platforms, and the request economy of `--verbose`. Every run is
//! grepped for the sentinel secrets.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::Output;
use crate::registry::{Fault, TestRegistry};
use crate::secure_registry::{Env, PASSWORD, REFRESH_TOKEN, SecureRegistries, USER, basic_auths, executable};

/// One policy and the containers that use it; every container is marked with the policy.
struct Uses<'a> {
    policy: &'a str,
    repository: String,
    /// A semver range, or `numerical` for a numerical policy.
    range: &'a str,
    extra: &'a str,
    images: Vec<String>,
}

/// A ResourceList with one Pod per policy and an ImagePolicyConfig with `registries`.
fn resource_list(uses: &[Uses<'_>], spec_extra: &str) -> String {
    let mut items = String::new();
    let mut policies = String::new();
    for (index, uses) in uses.iter().enumerate() {
        items.push_str(&format!(
            "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: pod-{index}\n  spec:\n    containers:\n"
        ));
        for (n, image) in uses.images.iter().enumerate() {
            items.push_str(&format!(
                "    - name: c{n}\n      image: {image} # {{\"$imagepolicy\": \"flux-system:{}\"}}\n",
                uses.policy
            ));
        }
        let rule = match uses.range {
            "numerical" => "numerical: {order: asc}".to_owned(),
            range => format!("semver: {{range: '{range}'}}"),
        };
        policies.push_str(&format!(
            "    - {{name: {}, image: {}, policy: {{{rule}}}{}}}\n",
            uses.policy, uses.repository, uses.extra
        ));
    }
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{items}functionConfig:\n  \
         apiVersion: imgpolicy.dev/v1alpha1\n  kind: ImagePolicyConfig\n  metadata: {{name: images}}\n  spec:\n    \
         policies:\n{policies}{spec_extra}"
    )
}

/// One policy over `repository` with a single marked container at `old`.
fn single(repository: String, old: &str) -> Vec<Uses<'static>> {
    let image = format!("{repository}:{old}");
    vec![Uses { policy: "app", repository, range: ">=1.0.0", extra: "", images: vec![image] }]
}

#[track_caller]
fn assert_success(output: &Output) {
    assert_eq!(output.status, 0, "{}", output.transcript());
}

/// The `registries:` line of `spec`, one flow mapping per entry ([`insecure_entry`], [`tls_entry`]).
fn registries(entries: &[String]) -> String {
    format!("    registries: [{}]\n", entries.join(", "))
}

/// A plain-HTTP registry entry.
fn insecure_entry(host: &str) -> String {
    format!("{{host: '{host}', insecure: true}}")
}

/// The TLS registry's entry, trusting the fixture's CA, with `extra` fields.
fn tls_entry(secure: &SecureRegistries, extra: &str) -> String {
    format!("{{host: '{}', caFile: '{}'{extra}}}", secure.tls_host, ca(secure))
}

/// The CA file in the form the YAML wants.
fn ca(secure: &SecureRegistries) -> String {
    secure.ca_file.display().to_string()
}

#[test]
fn tls_and_htpasswd_with_credentials_in_docker_config() {
    let secure = SecureRegistries::shared();
    let host = &secure.tls_host;
    let env = Env::new().config_json(&basic_auths(&format!("https://{host}")));
    let registries = registries(&[tls_entry(secure, "")]);
    let output = env.run(&resource_list(&single(format!("{host}/team/app"), "1.0.0"), &registries), &[]);
    assert_success(&output);
    assert!(output.stdout.contains(&format!("image: {host}/team/app:2.0.0 #")), "{}", output.stdout);
}

#[test]
fn ssl_cert_file_is_trusted_and_unknown_cas_are_not() {
    let secure = SecureRegistries::shared();
    let host = &secure.tls_host;
    let env = Env::new().config_json(&basic_auths(host));
    let input = resource_list(&single(format!("{host}/team/app"), "1.0.0"), "");
    let output = env.run(&input, &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(output.stdout.contains(&format!("cannot reach registry `{host}` for `team/app`")), "{}", output.stdout);
    assert!(output.stdout.contains("UnknownIssuer"), "{}", output.stdout);
    let output = env.env("SSL_CERT_FILE", &ca(secure)).run(&input, &[]);
    assert_success(&output);
    assert!(output.stdout.contains(&format!("{host}/team/app:2.0.0")), "{}", output.stdout);
}

#[test]
fn a_wrong_password_fails_without_showing_it() {
    let secure = SecureRegistries::shared();
    let host = &secure.tls_host;
    let wrong = serde_json::json!({"username": USER, "password": "SENTINEL-wrong-password"});
    let env = Env::new().config_json(&serde_json::json!({"auths": {host.clone(): wrong}}));
    let registries = registries(&[tls_entry(secure, "")]);
    let output = env.run(&resource_list(&single(format!("{host}/team/app"), "1.0.0"), &registries), &["--verbose"]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains(&format!(
            "registry `{host}` answered `401 Unauthorized` to `GET /v2/team/app/tags/list` for `team/app`"
        )),
        "{}",
        output.stdout
    );
}

/// Writes `docker-credential-test` into `dir`: it answers basic credentials for `basic_host`,
/// an identity token for `token_host`, "not found" otherwise, and logs each server it is asked
/// about to `dir/calls`.
fn credential_helper(dir: &Path, basic_host: &str, token_host: &str) {
    let script = format!(
        "read server\necho \"$server\" >> '{calls}'\ncase \"$server\" in\n  \
         '{basic_host}') printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\" ;;\n  \
         '{token_host}') printf '{{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"{REFRESH_TOKEN}\"}}' \"$server\" ;;\n  \
         *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n",
        calls = dir.join("calls").display()
    );
    executable(dir, "docker-credential-test", &script);
}

#[test]
fn credential_helpers_give_basic_credentials_and_identity_tokens() {
    let secure = SecureRegistries::shared();
    let (tls, token) = (&secure.tls_host, &secure.token_host);
    let bin = tempfile::tempdir().expect("temp dir");
    credential_helper(bin.path(), tls, token);
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let env = Env::new()
        .config_json(&serde_json::json!({"credHelpers": {tls.clone(): "test", token.clone(): "test"}}))
        .env("PATH", &path);
    let before = secure.issued("team/web", "refresh");
    let uses = vec![
        Uses {
            policy: "app",
            repository: format!("{tls}/team/app"),
            range: ">=1.0.0",
            extra: "",
            images: vec![format!("{tls}/team/app:1.0.0"), format!("{tls}/team/app:1.0.1")],
        },
        Uses {
            policy: "web",
            repository: format!("{token}/team/web"),
            range: ">=1.0.0",
            extra: ", digestReflectionPolicy: Always",
            images: vec![format!("{token}/team/web:1.0.0"), format!("{token}/team/web:1.1.0")],
        },
    ];
    let registries = registries(&[tls_entry(secure, ""), insecure_entry(token), insecure_entry(&secure.issuer_host)]);
    let output = env.run(&resource_list(&uses, &registries), &[]);
    assert_success(&output);
    let web = TestRegistry::shared().digest("team/web", "2.0.0");
    assert_eq!(output.stdout.matches(&format!("{tls}/team/app:2.0.0 #")).count(), 2, "{}", output.stdout);
    assert_eq!(output.stdout.matches(&format!("{token}/team/web:2.0.0@{web} #")).count(), 2, "{}", output.stdout);
    // One helper run per host, one token exchange for the repository.
    let calls = std::fs::read_to_string(bin.path().join("calls")).expect("the helper ran");
    let mut calls: Vec<&str> = calls.lines().collect();
    calls.sort_unstable();
    let mut expected = vec![tls.as_str(), token.as_str()];
    expected.sort_unstable();
    assert_eq!(calls, expected);
    assert_eq!(secure.issued("team/web", "refresh") - before, 1);
}

#[test]
fn identity_tokens_in_auths_are_exchanged_and_refusals_reported() {
    let secure = SecureRegistries::shared();
    let token = &secure.token_host;
    let env = Env::new().config_json(&serde_json::json!({"auths": {token.clone(): {"identitytoken": REFRESH_TOKEN}}}));
    let registries = registries(&[insecure_entry(token), insecure_entry(&secure.issuer_host)]);
    let output = env.run(&resource_list(&single(format!("{token}/multi/arch"), "1.0.0"), &registries), &[]);
    assert_success(&output);
    assert!(output.stdout.contains(&format!("{token}/multi/arch:1.1.0 #")), "{}", output.stdout);
    // The issuer refuses `denied/` scopes: the message names the realm, not the token.
    let output = env.run(&resource_list(&single(format!("{token}/denied/app"), "1.0.0"), &registries), &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains(&format!(
            "cannot get a pull token for `denied/app` on registry `{token}`: token endpoint \
             `http://{}/token` answered `403 Forbidden`",
            secure.issuer_host
        )),
        "{}",
        output.stdout
    );
}

#[test]
fn credentials_are_not_sent_to_a_plain_http_realm() {
    let secure = SecureRegistries::shared();
    let token = &secure.token_host;
    let env = Env::new().config_json(&serde_json::json!({"auths": {token.clone(): {"identitytoken": REFRESH_TOKEN}}}));
    // The issuer's host is not marked insecure.
    let registries = registries(&[insecure_entry(token)]);
    let output = env.run(&resource_list(&single(format!("{token}/team/app"), "1.0.0"), &registries), &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(output.stdout.contains("is not HTTPS; credentials are only sent over HTTPS"), "{}", output.stdout);
}

#[test]
fn google_hosts_get_a_metadata_server_token() {
    let secure = SecureRegistries::shared();
    let host = &secure.tls_host;
    let env = Env::new().env("GCE_METADATA_HOST", &secure.metadata_host);
    let registries = registries(&[tls_entry(secure, ", credentials: google")]);
    let before = secure.metadata_requests();
    let uses = vec![
        Uses {
            policy: "app",
            repository: format!("{host}/team/app"),
            range: ">=1.0.0",
            extra: "",
            images: vec![format!("{host}/team/app:1.0.0")],
        },
        Uses {
            policy: "web",
            repository: format!("{host}/team/web"),
            range: "<2.0.0",
            extra: "",
            images: vec![format!("{host}/team/web:1.0.0")],
        },
    ];
    let output = env.run(&resource_list(&uses, &registries), &[]);
    assert_success(&output);
    assert!(output.stdout.contains(&format!("{host}/team/web:1.1.0 #")), "{}", output.stdout);
    assert_eq!(secure.metadata_requests() - before, 1, "one access token per host and run");
    // A config.json entry wins over Google's sources.
    let env = env.config_json(&basic_auths(host));
    let before = secure.metadata_requests();
    assert_success(&env.run(&resource_list(&uses, &registries), &[]));
    assert_eq!(secure.metadata_requests(), before);
}

#[test]
fn redirects_drop_authorization_on_another_host() {
    let registry = TestRegistry::shared();
    let target = registry.logging_proxy();
    let redirecting = registry.redirecting_proxy(&target.host);
    let host = &redirecting.host;
    let env = Env::new().config_json(&basic_auths(host));
    let registries = registries(&[insecure_entry(host), insecure_entry(&target.host)]);
    let output = env.run(&resource_list(&single(format!("{host}/team/app"), "1.0.0"), &registries), &[]);
    assert_success(&output);
    let first = redirecting.requests();
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first[0].authorization.is_none() && first[1].authorization.is_some(), "{first:?}");
    let second = target.requests();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].request, "GET /v2/team/app/tags/list");
    assert_eq!(second[0].authorization, None, "Authorization followed the redirect to another host");
}

#[test]
fn a_platform_picks_its_manifest_from_the_index() {
    let registry = TestRegistry::shared();
    let host = registry.host();
    let uses = vec![Uses {
        policy: "multi",
        repository: format!("{host}/multi/arch"),
        range: "*",
        extra: ", digestReflectionPolicy: Always, platform: linux/arm64",
        images: vec![format!("{host}/multi/arch:1.0.0")],
    }];
    let registries = registries(&[insecure_entry(host)]);
    let output = Env::new().run(&resource_list(&uses, &registries), &[]);
    assert_success(&output);
    let arm64 = registry.child_digest("multi/arch", "1.1.0", "linux/arm64");
    assert!(output.stdout.contains(&format!("{host}/multi/arch:1.1.0@{arm64} #")), "{}", output.stdout);
    let bad = vec![Uses { extra: ", platform: linux", ..uses.into_iter().next().expect("one") }];
    let output = Env::new().run(&resource_list(&bad, &registries), &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("spec.policies[0].platform: invalid platform `linux`: expected `os/architecture[/variant]`"),
        "{}",
        output.stdout
    );
}

#[test]
fn the_run_deadline_ends_in_a_clear_error() {
    let registry = TestRegistry::shared();
    let proxy = registry.faulty_proxy(vec![Fault::Hang(Duration::from_secs(30)); 4], false);
    let host = &proxy.host;
    let spec = registries(&[insecure_entry(host)]) + "    timeout: 2s\n";
    let started = Instant::now();
    let output = Env::new().run(&resource_list(&single(format!("{host}/team/app"), "1.0.0"), &spec), &[]);
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains(&format!("gave up on `{host}/team/app`: the registry deadline of 2s passed")),
        "{}",
        output.stdout
    );
}

/// The measure: 20 markers over 5 repositories behind distribution's token auth, with
/// credentials: one tag listing per repository, one `HEAD` per distinct tag, and one token for
/// all five repositories (several scopes in one token request). The five listings go out at
/// once, before any token is known, so each is challenged (`401`) once; the `HEAD`s send the
/// token up front.
#[test]
fn twenty_markers_over_five_repositories() {
    let secure = SecureRegistries::shared();
    let token = &secure.token_host;
    let env = Env::new().config_json(&basic_auths(token));
    let repositories = ["backend/server", "team/app", "multi/arch", "numbers/build", "team/web"];
    let names = ["a", "b", "c", "d", "e"];
    let uses: Vec<Uses<'_>> = repositories
        .iter()
        .zip(names)
        .map(|(repository, name)| Uses {
            policy: name,
            repository: format!("{token}/{repository}"),
            range: if *repository == "numbers/build" { "numerical" } else { ">=0.0.1" },
            extra: ", digestReflectionPolicy: Always",
            images: (0..4).map(|n| format!("{token}/{repository}:0.0.{n}")).collect(),
        })
        .collect();
    let registries = registries(&[insecure_entry(token), insecure_entry(&secure.issuer_host)]);
    let before: Vec<usize> = repositories.iter().map(|r| secure.issued(r, "basic")).collect();
    let output = env.run(&resource_list(&uses, &registries), &["--verbose"]);
    assert_success(&output);
    assert_eq!(output.stdout.matches("severity: info").count(), 20, "{}", output.stdout);
    let issued: Vec<usize> =
        repositories.iter().zip(&before).map(|(r, before)| secure.issued(r, "basic") - before).collect();
    assert_eq!(issued, [1; 5], "each repository granted once");
    let counts = output.stderr.lines().find(|l| l.starts_with("imgpolicy: registry: ")).expect("--verbose counts");
    // Shown with `cargo test twenty_markers -- --nocapture`.
    eprintln!("{counts}");
    assert_eq!(
        counts,
        "imgpolicy: registry: 16 requests: 1 token, 5 tag-list page, 5 manifest HEAD, 0 manifest GET, \
         0 metadata, 5 challenged (401), 0 retries; 0 credential helper runs"
    );
}
