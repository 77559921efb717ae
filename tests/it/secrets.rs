//! Sentinel secrets through the auth paths `registry_auth.rs` leaves out (`credsStore`,
//! `gcloud`, the `select` and `update` commands), every run with `--verbose` and
//! `RUST_BACKTRACE=1`, and through registries that echo what they were sent: no secret ever
//! reaches stdout, stderr, results or logs.

use std::path::Path;

use crate::harness::Output;
use crate::scripted_registry::{Images, Reply, Request, ScriptedRegistry, resource_list};
use crate::secure_registry::{Env, GOOGLE_TOKEN, PASSWORD, SecureRegistries, USER, basic_auths, executable};

/// A run of the binary with its own `DOCKER_CONFIG` (holding `config`), `PATH` starting with
/// `bin`, `--verbose` and backtraces on.
fn run(args: &[&str], input: &str, config: &serde_json::Value, bin: &Path, extra: &[(&str, &str)]) -> Output {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut env = Env::new().config_json(config).env("PATH", &path).env("RUST_BACKTRACE", "1");
    for (key, value) in extra {
        env = env.env(key, value);
    }
    let mut all = vec!["--verbose"];
    all.extend_from_slice(args);
    env.run(input, &all)
}

/// A function input for `repository` on the TLS registry, trusting its CA, with `credentials`.
fn tls_input(secure: &SecureRegistries, credentials: &str) -> String {
    let host = &secure.tls_host;
    let registries =
        format!("    registries: [{{host: '{host}', caFile: '{}'{credentials}}}]\n", secure.ca_file.display());
    resource_list(host, "team/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", &registries)
        .replace(&format!("    registries: [{{host: '{host}', insecure: true}}]\n"), "")
}

#[test]
fn creds_store_helpers_never_leak_the_password() {
    let secure = SecureRegistries::shared();
    let bin = tempfile::tempdir().expect("dir");
    executable(
        bin.path(),
        "docker-credential-sentinel",
        &format!(
            "read server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n"
        ),
    );
    let config = serde_json::json!({"credsStore": "sentinel"});
    let output = run(&[], &tls_input(secure, ""), &config, bin.path(), &[]);
    assert_eq!(output.status, 0, "{}", output.transcript());
    assert!(output.stdout.contains(&format!("{}/team/app:2.0.0 #", secure.tls_host)), "{}", output.stdout);
    assert!(output.stderr.contains("imgpolicy: registry: "), "--verbose counts: {}", output.stderr);
}

#[test]
fn gcloud_access_tokens_never_leak() {
    let secure = SecureRegistries::shared();
    let bin = tempfile::tempdir().expect("dir");
    executable(bin.path(), "gcloud", &format!("echo '{GOOGLE_TOKEN}'\n"));
    let output = run(&[], &tls_input(secure, ", credentials: google"), &serde_json::json!({}), bin.path(), &[]);
    assert_eq!(output.status, 0, "{}", output.transcript());
    assert!(output.stdout.contains(&format!("{}/team/app:2.0.0 #", secure.tls_host)), "{}", output.stdout);
}

#[test]
fn select_and_update_with_credentials_never_leak() {
    let secure = SecureRegistries::shared();
    let host = &secure.tls_host;
    let bin = tempfile::tempdir().expect("dir");
    let config = basic_auths(host);
    let ca = secure.ca_file.display().to_string();
    let image = format!("{host}/team/app");
    let output = run(&["select", &image, "--semver", ">=1.0.0"], "", &config, bin.path(), &[("SSL_CERT_FILE", &ca)]);
    assert_eq!((output.status, output.stdout.as_str()), (0, "2.0.0\n"), "{}", output.transcript());
    // A wrong password: the registry's refusal is reported, the password is not.
    let wrong = serde_json::json!({"auths": {host.clone(): {"username": USER, "password": "SENTINEL-wrong"}}});
    let output = run(&["select", &image, "--semver", ">=1.0.0"], "", &wrong, bin.path(), &[("SSL_CERT_FILE", &ca)]);
    assert_eq!(output.status, 2, "{}", output.transcript());

    let dir = tempfile::tempdir().expect("dir");
    let files =
        tls_input(secure, "").replace("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- ", "");
    let (pod, config_part) = files.split_once("functionConfig:\n").expect("two parts");
    std::fs::write(dir.path().join("pod.yaml"), pod.replace("\n  ", "\n")).expect("pod");
    std::fs::write(dir.path().join("images.yaml"), config_part.replace("\n  ", "\n").trim_start()).expect("config");
    let dir_arg = dir.path().display().to_string();
    let output = run(&["update", &dir_arg], "", &config, bin.path(), &[]);
    assert_eq!(output.status, 0, "{}", output.transcript());
    let pod = std::fs::read_to_string(dir.path().join("pod.yaml")).expect("pod");
    assert!(pod.contains(&format!("{host}/team/app:2.0.0 #")), "{pod}");
}

/// A `401` that quotes the request's `Authorization` and the password in its error.
fn echo_refusal(request: &Request) -> Reply {
    let echoed = request.header("authorization").unwrap_or_default();
    Reply::json(
        401,
        format!(r#"{{"errors":[{{"code":"UNAUTHORIZED","message":"rejected {echoed} for {PASSWORD}"}}]}}"#),
    )
}

#[test]
fn registries_that_echo_credentials_get_them_redacted() {
    // A registry that wants basic credentials and then refuses them, quoting the request's
    // `Authorization` and the decoded password in its error: a message must show neither.
    let images = Images::new("team/app", &["1.0.0", "1.1.0"]);
    let registry = ScriptedRegistry::start(move |request| match request.header("authorization") {
        None => Reply::error(401, "UNAUTHORIZED").with("WWW-Authenticate", r#"Basic realm="echo""#),
        Some(value) if request.path.contains("denied") => Reply::json(
            403,
            format!(r#"{{"errors":[{{"code":"DENIED","message":"{value} ({PASSWORD}) may not pull"}}]}}"#),
        ),
        Some(_) => images.answer(request),
    });
    let host = registry.host.clone();
    let config = basic_auths(&host);
    let bin = tempfile::tempdir().expect("dir");
    let input = resource_list(&host, "denied/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", "");
    let output = run(&[], &input, &config, bin.path(), &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(output.stdout.contains("answered `403 Forbidden`"), "{}", output.stdout);
    assert!(output.stdout.contains("DENIED: Basic <redacted> (<redacted>) may not pull"), "{}", output.stdout);

    // A token endpoint that echoes the credentials it was sent.
    let token = ScriptedRegistry::start(move |request| {
        if request.path == "/token" {
            return echo_refusal(request);
        }
        let realm =
            format!(r#"Bearer realm="http://{}/token",service="echo""#, request.header("host").unwrap_or_default());
        Reply::error(401, "UNAUTHORIZED").with("WWW-Authenticate", &realm)
    });
    let host = token.host.clone();
    let config = basic_auths(&host);
    let input = resource_list(&host, "team/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", "");
    let output = run(&[], &input, &config, bin.path(), &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(output.stdout.contains("UNAUTHORIZED: rejected Basic <redacted> for <redacted>"), "{}", output.stdout);
}
