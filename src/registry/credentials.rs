//! Where credentials for a registry host come from: Docker and Podman `config.json`, credential
//! helpers, and Google's metadata server or `gcloud`.
//!
//! Lookup order for a host, as Docker does it, over each config file in turn
//! (`$REGISTRY_AUTH_FILE`; `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
//! `$XDG_RUNTIME_DIR/containers/auth.json`): the host's `credHelpers` entry, then `credsStore`,
//! then the `auths` entry (`auth` = base64 `user:password`, or `username`/`password`, or an
//! `identitytoken`). Keys match as Docker matches them: `https://index.docker.io/v1/` for
//! Docker Hub, a bare host, or a host with a scheme and path.
//!
//! Only when no file knows the host, a Google registry (`*-docker.pkg.dev`, `gcr.io`,
//! `*.gcr.io`, or a host configured as Google) gets user `oauth2accesstoken` with an access
//! token from the GCE metadata server (`$GCE_METADATA_HOST` first if set) or `gcloud auth
//! print-access-token`.
//!
//! Nothing here ever formats a secret: [`Secret`] redacts itself, and errors say which helper
//! or file failed, never what it printed.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{AUTHORIZATION, HeaderValue};

/// Docker Hub's key in `config.json`, and the server URL its helpers are asked about.
pub(crate) const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";
/// The user name Google registries take with an OAuth2 access token as password.
pub(crate) const GOOGLE_USER: &str = "oauth2accesstoken";
/// The metadata server's host when `GCE_METADATA_HOST` is not set.
const METADATA_HOST: &str = "metadata.google.internal";

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps `secret`.
    pub(crate) fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Credentials for one registry host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// No credentials: tokens are requested anonymously.
    Anonymous,
    /// A user name and password (or access token), sent as HTTP basic auth.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint.
    IdentityToken(Secret),
}

impl Credentials {
    /// `Authorization: Basic ...` for basic credentials, marked sensitive; `None` otherwise.
    pub(crate) fn basic_header(&self) -> Option<HeaderValue> {
        let Self::Basic { username, password } = self else {
            return None;
        };
        let encoded = BASE64.encode(format!("{username}:{}", password.expose()));
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Adds basic credentials to `request`; other kinds add nothing.
    pub(crate) fn apply(&self, request: &mut reqwest::Request) {
        if let Some(value) = self.basic_header() {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
    }

    /// The strings a registry must never get to put into a message: the password or identity
    /// token, and the basic `Authorization` value that carries it.
    pub(crate) fn secrets(&self) -> Vec<String> {
        match self {
            Self::Anonymous => Vec::new(),
            Self::Basic { username, password } => {
                vec![password.expose().to_owned(), BASE64.encode(format!("{username}:{}", password.expose()))]
            }
            Self::IdentityToken(token) => vec![token.expose().to_owned()],
        }
    }

    /// Whether these are real credentials.
    pub(crate) fn is_anonymous(&self) -> bool {
        matches!(self, Self::Anonymous)
    }
}

/// Why credentials could not be looked up. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A config file exists but cannot be read or is not valid JSON.
    #[error("cannot read credentials file `{path}`")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong (I/O or JSON; JSON errors carry a position, not the text).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An `auths` entry's `auth` is not base64 of `user:password`.
    #[error("credentials file `{path}`: the `auth` of `{key}` is not base64 `user:password`")]
    BadAuth {
        /// The file.
        path: PathBuf,
        /// The `auths` key.
        key: String,
    },
    /// A credential helper (or `gcloud`) could not be run or failed.
    #[error("credential helper `{program}` failed for `{server}`: {reason}")]
    Helper {
        /// The program, e.g. `docker-credential-gcloud`.
        program: String,
        /// The server it was asked about.
        server: String,
        /// What happened (never the helper's output).
        reason: String,
    },
    /// No Google access token could be obtained for a host configured as Google.
    #[error("no Google access token for `{host}`: {reason}")]
    Google {
        /// The registry host.
        host: String,
        /// Why each source failed.
        reason: String,
    },
}

/// Where the credential files and tools are, read from the environment once per client.
#[derive(Clone, Debug, Default)]
pub(crate) struct Environment {
    /// Config files to search, in order (existing or not).
    pub(crate) files: Vec<PathBuf>,
    /// `GCE_METADATA_HOST`, if set.
    pub(crate) metadata_host: Option<String>,
}

impl Environment {
    /// Reads the variables this module honours from the process environment.
    pub(crate) fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        let mut files = Vec::new();
        files.extend(var("REGISTRY_AUTH_FILE"));
        match (var("DOCKER_CONFIG"), var("HOME")) {
            (Some(dir), _) => files.push(dir.join("config.json")),
            (None, Some(home)) => files.push(home.join(".docker").join("config.json")),
            (None, None) => {}
        }
        files.extend(var("XDG_RUNTIME_DIR").map(|dir| dir.join("containers").join("auth.json")));
        let metadata_host = std::env::var("GCE_METADATA_HOST").ok().filter(|host| !host.is_empty());
        Self { files, metadata_host }
    }

    /// The metadata server's token URL.
    pub(crate) fn metadata_token_url(&self) -> String {
        let host = self.metadata_host.as_deref().unwrap_or(METADATA_HOST);
        format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token")
    }
}

/// The parts of a `config.json` / `auth.json` this module reads.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// A credential helper's answer.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

/// Whether `host` is one of Docker Hub's names.
pub(crate) fn is_docker_hub(host: &str) -> bool {
    ["docker.io", "index.docker.io", "registry-1.docker.io"].iter().any(|hub| hub.eq_ignore_ascii_case(host))
}

/// Whether `host` is a Google registry: Artifact Registry (`*-docker.pkg.dev`) or Container
/// Registry (`gcr.io`, `*.gcr.io`).
pub(crate) fn is_google_host(host: &str) -> bool {
    let name = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    name.ends_with("-docker.pkg.dev") || name == "gcr.io" || name.ends_with(".gcr.io")
}

/// A `config.json` key reduced to its host, as Docker compares them: no scheme, no path,
/// lowercase.
fn key_host(key: &str) -> String {
    let key = key.trim();
    let without_scheme = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    without_scheme.split('/').next().unwrap_or_default().to_ascii_lowercase()
}

/// Whether a `config.json` key names `host`.
fn key_matches(key: &str, host: &str) -> bool {
    let key = key_host(key);
    if is_docker_hub(host) { is_docker_hub(&key) } else { key == host.to_ascii_lowercase() }
}

/// What a helper is asked about for `host`: Docker Hub's v1 URL, else the host.
fn server_url(host: &str) -> String {
    if is_docker_hub(host) { DOCKER_HUB_SERVER.to_owned() } else { host.to_owned() }
}

/// Looks up credentials for `host` in the config files of `env` (blocking: reads files and
/// may run helpers). `None` when no file knows the host.
///
/// # Errors
/// An unreadable or invalid file, a bad `auth` value, or a failing helper.
pub(crate) fn from_config_files(
    env: &Environment,
    host: &str,
    helper_timeout: Duration,
    mut on_helper: impl FnMut(),
) -> Result<Option<Credentials>, CredentialError> {
    for path in &env.files {
        let Some(file) = read_config(path)? else { continue };
        let helper = file.cred_helpers.iter().find(|(key, _)| key_matches(key, host)).map(|(_, helper)| helper);
        for helper in helper.into_iter().chain(file.creds_store.as_ref()) {
            on_helper();
            if let Some(credentials) = run_helper(helper, &server_url(host), helper_timeout)? {
                return Ok(Some(credentials));
            }
        }
        // Exact keys first, so `host` beats `https://host/v2/` when both are present.
        let mut entries: Vec<_> = file.auths.iter().filter(|(key, _)| key_matches(key, host)).collect();
        entries.sort_by_key(|(key, _)| (key_host(key) != key.as_str(), key.as_str()));
        for (key, entry) in entries {
            if let Some(credentials) = entry_credentials(entry)
                .map_err(|()| CredentialError::BadAuth { path: path.clone(), key: key.clone() })?
            {
                return Ok(Some(credentials));
            }
        }
    }
    Ok(None)
}

/// Reads one config file; `None` if it does not exist.
fn read_config(path: &Path) -> Result<Option<ConfigFile>, CredentialError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(CredentialError::File { path: path.to_owned(), source: Box::new(error) }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|error| CredentialError::File { path: path.to_owned(), source: Box::new(JsonError::from(&error)) })
}

/// A JSON error reduced to its position: serde_json's message may quote the input, which here
/// may be a secret.
#[derive(Debug, thiserror::Error)]
#[error("invalid JSON at line {line}, column {column}")]
struct JsonError {
    line: usize,
    column: usize,
}

impl From<&serde_json::Error> for JsonError {
    fn from(error: &serde_json::Error) -> Self {
        Self { line: error.line(), column: error.column() }
    }
}

/// The credentials of an `auths` entry; `Ok(None)` for an empty entry, `Err` for a bad `auth`.
fn entry_credentials(entry: &AuthEntry) -> Result<Option<Credentials>, ()> {
    if let Some(token) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::IdentityToken(Secret(token.clone()))));
    }
    if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
        let decoded = BASE64.decode(auth.trim()).map_err(|_| ())?;
        let decoded = String::from_utf8(decoded).map_err(|_| ())?;
        let (username, password) = decoded.split_once(':').ok_or(())?;
        return Ok(Some(Credentials::Basic { username: username.to_owned(), password: Secret(password.to_owned()) }));
    }
    match (&entry.username, &entry.password) {
        (Some(username), Some(password)) if !username.is_empty() => {
            Ok(Some(Credentials::Basic { username: username.clone(), password: Secret(password.clone()) }))
        }
        _ => Ok(None),
    }
}

/// Runs `docker-credential-<helper> get` for `server`; `None` when it has no credentials.
fn run_helper(helper: &str, server: &str, timeout: Duration) -> Result<Option<Credentials>, CredentialError> {
    let program = format!("docker-credential-{helper}");
    let failed =
        |reason: String| CredentialError::Helper { program: program.clone(), server: server.to_owned(), reason };
    let output = run(&program, &["get"], server.as_bytes(), timeout).map_err(failed)?;
    if !output.success {
        // The helpers' protocol: "credentials not found in native keychain" on stdout.
        if String::from_utf8_lossy(&output.stdout).to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(failed("it exited with an error".to_owned()));
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&output.stdout).map_err(|_| failed("its answer is not the expected JSON".to_owned()))?;
    Ok(match (answer.username.as_str(), answer.secret.is_empty()) {
        (_, true) => None,
        ("<token>", false) => Some(Credentials::IdentityToken(Secret(answer.secret))),
        (_, false) => Some(Credentials::Basic { username: answer.username, password: Secret(answer.secret) }),
    })
}

/// An access token from `gcloud auth print-access-token` (blocking).
pub(crate) fn gcloud_token(timeout: Duration) -> Result<Secret, String> {
    let output = run("gcloud", &["auth", "print-access-token", "--quiet"], b"", timeout)?;
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.success || token.is_empty() || token.contains(char::is_whitespace) {
        return Err("`gcloud auth print-access-token` gave no token".to_owned());
    }
    Ok(Secret(token))
}

/// What a finished program printed on stdout, and whether it succeeded.
struct RunOutput {
    success: bool,
    stdout: Vec<u8>,
}

/// Runs `program args` with `stdin`, killing it after `timeout`. stderr is discarded: helpers
/// may print secrets or prompts there.
fn run(program: &str, args: &[&str], stdin: &[u8], timeout: Duration) -> Result<RunOutput, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => format!("`{program}` is not on PATH"),
            _ => format!("cannot run `{program}`: {error}"),
        })?;
    if let Some(mut input) = child.stdin.take() {
        // A helper that exits without reading stdin closes the pipe: not an error by itself.
        let _ = input.write_all(stdin);
    }
    // Read stdout on a thread so a chatty program cannot block on a full pipe.
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            bytes
        })
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{program}` did not finish within {}s", timeout.as_secs()));
            }
            Err(error) => return Err(format!("waiting for `{program}`: {error}")),
        }
    };
    let stdout = reader.and_then(|reader| reader.join().ok()).unwrap_or_default();
    Ok(RunOutput { success: status.success(), stdout })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(dir: &Path, json: &str) -> Environment {
        let path = dir.join("config.json");
        std::fs::write(&path, json).expect("write config");
        Environment { files: vec![dir.join("missing.json"), path], metadata_host: None }
    }

    fn basic(user: &str, password: &str) -> Option<Credentials> {
        Some(Credentials::Basic { username: user.into(), password: Secret(password.into()) })
    }

    fn lookup(env: &Environment, host: &str) -> Option<Credentials> {
        from_config_files(env, host, Duration::from_secs(5), || {}).expect("lookup")
    }

    #[test]
    fn auths_entries() {
        let dir = tempfile::tempdir().expect("dir");
        let auth = BASE64.encode("me:p@ss:word");
        let env = env_with(
            dir.path(),
            &format!(
                r#"{{"auths": {{
                    "https://index.docker.io/v1/": {{"auth": "{auth}"}},
                    "https://ghcr.io/v2/": {{"username": "u", "password": "p"}},
                    "quay.io": {{"identitytoken": "refresh"}},
                    "empty.example": {{}}
                }}}}"#
            ),
        );
        for hub in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(lookup(&env, hub), basic("me", "p@ss:word"), "{hub}");
        }
        assert_eq!(lookup(&env, "ghcr.io"), basic("u", "p"));
        assert_eq!(lookup(&env, "quay.io"), Some(Credentials::IdentityToken(Secret("refresh".into()))));
        assert_eq!(lookup(&env, "empty.example"), None);
        assert_eq!(lookup(&env, "other.example"), None);
    }

    #[test]
    fn bad_files_name_the_path_but_not_the_content() {
        let dir = tempfile::tempdir().expect("dir");
        let env = env_with(dir.path(), r#"{"auths": {"x.io": {"auth": "c2VjcmV0LXBhc3N3b3Jk"}}, "#);
        let error = from_config_files(&env, "x.io", Duration::from_secs(1), || {}).expect_err("invalid JSON");
        let text =
            format!("{error}: {}", std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default());
        assert!(text.contains("config.json"), "{text}");
        assert!(!text.contains("c2VjcmV0"), "{text}");
        let env = env_with(dir.path(), r#"{"auths": {"x.io": {"auth": "bm9jb2xvbg=="}}}"#);
        let error = from_config_files(&env, "x.io", Duration::from_secs(1), || {}).expect_err("no colon");
        assert!(matches!(error, CredentialError::BadAuth { .. }), "{error:?}");
    }

    #[test]
    fn missing_helper_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("dir");
        let env = env_with(dir.path(), r#"{"credHelpers": {"x.io": "imgpolicy-test-nonexistent"}}"#);
        let error = from_config_files(&env, "x.io", Duration::from_secs(1), || {}).expect_err("no helper");
        assert_eq!(
            error.to_string(),
            "credential helper `docker-credential-imgpolicy-test-nonexistent` failed for `x.io`: \
             `docker-credential-imgpolicy-test-nonexistent` is not on PATH"
        );
    }

    #[test]
    fn host_kinds() {
        for host in ["europe-west1-docker.pkg.dev", "gcr.io", "eu.gcr.io", "asia-northeast2-docker.pkg.dev:443"] {
            assert!(is_google_host(host), "{host}");
        }
        for host in ["docker.pkg.dev.example", "ghcr.io", "notgcr.io"] {
            assert!(!is_google_host(host), "{host}");
        }
        assert_eq!(key_host("https://Index.Docker.io/v1/"), "index.docker.io");
        assert!(key_matches("http://127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(!key_matches("127.0.0.1:5001", "127.0.0.1:5000"));
        assert_eq!(server_url("docker.io"), DOCKER_HUB_SERVER);
        assert_eq!(server_url("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn secrets_are_redacted() {
        let credentials = basic("user", "hunter2").expect("credentials");
        assert!(!format!("{credentials:?}").contains("hunter2"));
        let header = credentials.basic_header().expect("header");
        assert!(header.is_sensitive());
        assert_eq!(header, format!("Basic {}", BASE64.encode("user:hunter2")).as_str());
    }
}
