//! Sentinel secrets through the auth paths `registry_auth.rs` leaves out (`credsStore`,
//! `gcloud`, the `select` and `update` commands), every run with `--verbose` and
//! `RUST_BACKTRACE=1`, and through registries that echo what they were sent: no secret ever
//! reaches stdout, stderr, results or logs.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::harness::{Output, Test};
use crate::scripted_registry::{Images, Reply, ScriptedRegistry, resource_list};
use crate::secure_registry::{GOOGLE_TOKEN, PASSWORD, REFRESH_TOKEN, SECRETS, SecureRegistries, USER};

/// No sentinel, and no basic `Authorization` value carrying one, anywhere in `output`.
#[track_caller]
fn assert_no_secrets(output: &Output) {
    let transcript = output.transcript();
    for secret in SECRETS {
        assert!(!transcript.contains(secret), "`{secret}` leaked:\n{transcript}");
    }
    for (user, secret) in [(USER, PASSWORD), ("oauth2accesstoken", GOOGLE_TOKEN), ("<token>", REFRESH_TOKEN)] {
        let basic = STANDARD.encode(format!("{user}:{secret}"));
        assert!(!transcript.contains(&basic), "basic credentials of `{user}` leaked:\n{transcript}");
    }
    assert!(!transcript.contains("panicked"), "{transcript}");
}

/// A run of the binary with its own `DOCKER_CONFIG` (holding `config`), `PATH` starting with
/// `bin`, `--verbose` and backtraces on.
fn run(args: &[&str], input: &str, config: &serde_json::Value, bin: &Path, extra: &[(&str, &str)]) -> Output {
    let docker = tempfile::tempdir().expect("dir");
    std::fs::write(docker.path().join("config.json"), config.to_string()).expect("config.json");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut all = vec!["--verbose"];
    all.extend_from_slice(args);
    let mut test = Test::new()
        .args(&all)
        .stdin(input)
        .env("DOCKER_CONFIG", &docker.path().display().to_string())
        .env("PATH", &path)
        .env("RUST_BACKTRACE", "1")
        .env("GCE_METADATA_HOST", "")
        .env("REGISTRY_AUTH_FILE", "")
        .env("XDG_RUNTIME_DIR", "");
    for (key, value) in extra {
        test = test.env(key, value);
    }
    let output = test.run();
    assert_no_secrets(&output);
    output
}

/// Writes an executable `name` into `dir` running `script` (sh).
fn executable(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).expect("write");
    let mut permissions = std::fs::metadata(&path).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&path, permissions).expect("chmod");
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
    let config = serde_json::json!({"auths": {host.clone(): {"auth": STANDARD.encode(format!("{USER}:{PASSWORD}"))}}});
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

#[test]
fn registries_that_echo_credentials_get_them_redacted() {
    // A registry that wants basic credentials and then refuses them, quoting the request's
    // `Authorization` and the decoded password in its error: a message must show neither.
    let images = Images::new("team/app", &["1.0.0", "1.1.0"]);
    let registry = ScriptedRegistry::start(move |request| {
        if request.path == "/token" {
            let echoed = request.header("authorization").unwrap_or_default().to_owned();
            return Reply::json(
                401,
                format!(r#"{{"errors":[{{"code":"UNAUTHORIZED","message":"rejected {echoed} for {PASSWORD}"}}]}}"#),
            );
        }
        match request.header("authorization") {
            None => Reply::error(401, "UNAUTHORIZED").with("WWW-Authenticate", r#"Basic realm="echo""#),
            Some(value) if request.path.contains("denied") => Reply::json(
                403,
                format!(r#"{{"errors":[{{"code":"DENIED","message":"{value} ({PASSWORD}) may not pull"}}]}}"#),
            ),
            Some(_) => images.answer(request),
        }
    });
    let host = registry.host.clone();
    let config = serde_json::json!({"auths": {host.clone(): {"auth": STANDARD.encode(format!("{USER}:{PASSWORD}"))}}});
    let bin = tempfile::tempdir().expect("dir");
    let input = resource_list(&host, "denied/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", "");
    let output = run(&[], &input, &config, bin.path(), &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(output.stdout.contains("answered `403 Forbidden`"), "{}", output.stdout);
    assert!(output.stdout.contains("DENIED: Basic <redacted> (<redacted>) may not pull"), "{}", output.stdout);

    // A token endpoint that echoes the credentials it was sent.
    let token = ScriptedRegistry::start(move |request| {
        if request.path == "/token" {
            let echoed = request.header("authorization").unwrap_or_default().to_owned();
            return Reply::json(
                401,
                format!(r#"{{"errors":[{{"code":"UNAUTHORIZED","message":"rejected {echoed} for {PASSWORD}"}}]}}"#),
            );
        }
        let realm =
            format!(r#"Bearer realm="http://{}/token",service="echo""#, request.header("host").unwrap_or_default());
        Reply::error(401, "UNAUTHORIZED").with("WWW-Authenticate", &realm)
    });
    let host = token.host.clone();
    let config = serde_json::json!({"auths": {host.clone(): {"auth": STANDARD.encode(format!("{USER}:{PASSWORD}"))}}});
    let input = resource_list(&host, "team/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", "");
    let output = run(&[], &input, &config, bin.path(), &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(output.stdout.contains("UNAUTHORIZED: rejected Basic <redacted> for <redacted>"), "{}", output.stdout);
}
