//! Registries that need credentials, started once per test binary on loopback, all serving the
//! shared test registry's storage (no second push):
//!
//! - a TLS registry (certificate from a CA the fixture generates with the `openssl` CLI) with
//!   htpasswd (bcrypt) basic auth, the only kind distribution 2.8 offers over TLS;
//! - a plain-HTTP registry with distribution's `auth: token`, whose realm is a token issuer run
//!   here: it checks basic credentials or an OAuth2 refresh token, and signs RS256 JWTs with a
//!   key whose self-signed certificate is the registry's `rootcertbundle` (sent as `x5c`);
//! - a fake GCE metadata server handing out an access token that the TLS registry accepts for
//!   user `oauth2accesstoken`.
//!
//! Every secret is a sentinel string that tests grep for in everything the binary prints.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::harness::{Output, Test};
use crate::registry::{TestRegistry, free_port, spawn_registry};

/// The user of the basic-auth and token registries.
pub(crate) const USER: &str = "imgpolicy";
/// The password: a sentinel no output may ever contain.
pub(crate) const PASSWORD: &str = "SENTINEL-pa55w0rd-4b1d";
/// The OAuth2 refresh token (identity token) the issuer accepts.
pub(crate) const REFRESH_TOKEN: &str = "SENTINEL-refresh-7c3e";
/// The access token the fake metadata server hands out.
pub(crate) const GOOGLE_TOKEN: &str = "SENTINEL-ya29-google-9f2a";
/// Every secret above, for the grep.
pub(crate) const SECRETS: [&str; 4] = [PASSWORD, REFRESH_TOKEN, GOOGLE_TOKEN, "SENTINEL"];
/// The token registry's `service` and the issuer's name.
const SERVICE: &str = "imgpolicy-test-token-registry";
const ISSUER: &str = "imgpolicy-test-issuer";

/// The registries, the issuer and the metadata server.
pub(crate) struct SecureRegistries {
    /// `127.0.0.1:PORT` of the TLS + htpasswd registry.
    pub(crate) tls_host: String,
    /// The CA certificate (PEM) that signed the TLS registry's certificate.
    pub(crate) ca_file: PathBuf,
    /// `127.0.0.1:PORT` of the token-auth registry (plain HTTP).
    pub(crate) token_host: String,
    /// `127.0.0.1:PORT` of the token issuer (plain HTTP).
    pub(crate) issuer_host: String,
    /// `127.0.0.1:PORT` of the fake GCE metadata server.
    pub(crate) metadata_host: String,
    /// Tokens issued, per `repository` and per grant (`basic`, `refresh`).
    issued: Arc<Mutex<HashMap<(String, String), usize>>>,
    /// Access tokens the metadata server handed out.
    metadata_requests: Arc<Mutex<usize>>,
    _registries: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl SecureRegistries {
    /// The shared instance, started on first use.
    pub(crate) fn shared() -> &'static SecureRegistries {
        static SHARED: OnceLock<SecureRegistries> = OnceLock::new();
        SHARED.get_or_init(SecureRegistries::start)
    }

    /// Tokens the issuer has signed that grant `repository`, with `grant` (`basic` or
    /// `refresh`); a token for several repositories counts for each.
    pub(crate) fn issued(&self, repository: &str, grant: &str) -> usize {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.get(&(repository.to_owned(), grant.to_owned())).copied().unwrap_or(0)
    }

    /// Tokens the metadata server has handed out.
    pub(crate) fn metadata_requests(&self) -> usize {
        *self.metadata_requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start() -> SecureRegistries {
        let shared = TestRegistry::shared();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();

        // A CA, and a server certificate for 127.0.0.1 signed by it.
        openssl(path, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
        openssl(
            path,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-sha256",
                "-days",
                "2",
                "-subj",
                "/CN=imgpolicy test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-out",
                "ca.pem",
            ],
        );
        openssl(path, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key"]);
        openssl(path, &["req", "-new", "-key", "server.key", "-subj", "/CN=127.0.0.1", "-out", "server.csr"]);
        std::fs::write(
            path.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n",
        )
        .expect("write the extensions");
        openssl(
            path,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-sha256",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );
        // The issuer's RSA key (PKCS#8 DER for ring) and its self-signed certificate.
        openssl(path, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "issuer.key"]);
        openssl(path, &["pkcs8", "-topk8", "-nocrypt", "-in", "issuer.key", "-outform", "DER", "-out", "issuer.pk8"]);
        openssl(
            path,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "issuer.key",
                "-sha256",
                "-days",
                "2",
                "-subj",
                "/CN=imgpolicy test issuer",
                "-out",
                "issuer.pem",
            ],
        );
        openssl(path, &["x509", "-in", "issuer.pem", "-outform", "DER", "-out", "issuer.der"]);

        // htpasswd (bcrypt): the test user, and Google's user with the metadata server's token.
        let mut htpasswd = String::new();
        for (user, password) in [(USER, PASSWORD), ("oauth2accesstoken", GOOGLE_TOKEN)] {
            let output = Command::new("htpasswd")
                .args(["-nbB", user, password])
                .output()
                .expect("run `htpasswd` (Debian package apache2-utils) to hash the test registry's passwords");
            assert!(output.status.success(), "htpasswd failed");
            htpasswd.push_str(String::from_utf8_lossy(&output.stdout).trim());
            htpasswd.push('\n');
        }
        std::fs::write(path.join("htpasswd"), htpasswd).expect("write htpasswd");

        let storage = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n",
            shared.data_dir().display()
        );
        let tls_host = format!("127.0.0.1:{}", free_port());
        let tls_dir = path.join("tls");
        std::fs::create_dir(&tls_dir).expect("dir");
        let tls = spawn_registry(
            &tls_dir,
            &tls_host,
            &format!(
                "{storage}http:\n  addr: {tls_host}\n  tls:\n    certificate: {}\n    key: {}\n\
                 auth:\n  htpasswd:\n    realm: imgpolicy-test\n    path: {}\n",
                path.join("server.pem").display(),
                path.join("server.key").display(),
                path.join("htpasswd").display()
            ),
            |host| TcpStream::connect(host).is_ok(),
        );

        let issued = Arc::new(Mutex::new(HashMap::new()));
        let key = std::fs::read(path.join("issuer.pk8")).expect("issuer key");
        let certificate = std::fs::read(path.join("issuer.der")).expect("issuer certificate");
        let issuer_host = Issuer::start(key, certificate, Arc::clone(&issued));
        let token_host = format!("127.0.0.1:{}", free_port());
        let token_dir = path.join("token");
        std::fs::create_dir(&token_dir).expect("dir");
        let token = spawn_registry(
            &token_dir,
            &token_host,
            &format!(
                "{storage}http:\n  addr: {token_host}\n\
                 auth:\n  token:\n    realm: http://{issuer_host}/token\n    service: {SERVICE}\n    \
                 issuer: {ISSUER}\n    rootcertbundle: {}\n",
                path.join("issuer.pem").display()
            ),
            |host| TcpStream::connect(host).is_ok(),
        );

        let metadata_requests = Arc::new(Mutex::new(0));
        let metadata_host = start_metadata_server(Arc::clone(&metadata_requests));
        SecureRegistries {
            tls_host,
            ca_file: path.join("ca.pem"),
            token_host,
            issuer_host,
            metadata_host,
            issued,
            metadata_requests,
            _registries: vec![tls, token],
            _dir: dir,
        }
    }
}

/// A run environment with its own `DOCKER_CONFIG` (empty until [`Env::config_json`]) and none
/// of the machine's other credential sources (Podman's auth file, the GCE metadata server), so
/// nothing of the machine's leaks in. Every run is checked with [`assert_no_secrets`].
pub(crate) struct Env {
    docker_config: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl Env {
    pub(crate) fn new() -> Self {
        let docker_config = tempfile::tempdir().expect("temp dir");
        let envs = vec![
            ("DOCKER_CONFIG".to_owned(), docker_config.path().display().to_string()),
            ("REGISTRY_AUTH_FILE".to_owned(), String::new()),
            ("XDG_RUNTIME_DIR".to_owned(), String::new()),
            ("GCE_METADATA_HOST".to_owned(), String::new()),
        ];
        Self { docker_config, envs }
    }

    /// Writes `config.json`.
    pub(crate) fn config_json(self, json: &serde_json::Value) -> Self {
        std::fs::write(self.docker_config.path().join("config.json"), json.to_string()).expect("write config.json");
        self
    }

    /// Sets (or replaces) an environment variable of the runs.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the binary on `input` with `args`, and checks no secret is in any output.
    #[track_caller]
    pub(crate) fn run(&self, input: &str, args: &[&str]) -> Output {
        let mut test = Test::new().stdin(input).args(args);
        for (key, value) in &self.envs {
            test = test.env(key, value);
        }
        let output = test.run();
        assert_no_secrets(&output);
        output
    }
}

/// No sentinel, no basic `Authorization` value carrying one, and no panic anywhere in `output`.
#[track_caller]
pub(crate) fn assert_no_secrets(output: &Output) {
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

/// A Docker `config.json` with the test user's basic credentials for `server` (a host, or a
/// URL as `docker login` writes it).
pub(crate) fn basic_auths(server: &str) -> serde_json::Value {
    json!({"auths": {server: {"auth": STANDARD.encode(format!("{USER}:{PASSWORD}"))}}})
}

/// Writes an executable `name` into `dir` running `script` (sh).
pub(crate) fn executable(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).expect("write");
    let mut permissions = std::fs::metadata(&path).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&path, permissions).expect("chmod");
}

/// Runs `openssl args` in `dir`, failing the test if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().expect("run the `openssl` CLI");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

// ---------------------------------------------------------------------------------------------
// A tiny HTTP server: one request per connection

/// A request: method, path, query pairs, headers (names lowercased), body.
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Serves each connection on `listener` with `handler` on its own thread.
fn serve(listener: TcpListener, handler: impl Fn(Request) -> (u16, String) + Send + Sync + 'static) {
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let handler = Arc::clone(&handler);
            thread::spawn(move || {
                let Some(request) = read(&mut stream) else { return };
                let (status, body) = handler(request);
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes()));
                let _ = stream.shutdown(Shutdown::Both);
            });
        }
    });
}

fn read(stream: &mut TcpStream) -> Option<Request> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = value(&headers, "content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = raw[end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&buf[..n]);
    }
    Some(Request {
        method,
        path: path.to_owned(),
        query: form_decode(query),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Decodes `a=b&c=d` with `%XX` and `+`.
fn form_decode(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    let hex =
                        std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                    out.push(hex.unwrap_or(b'%'));
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The token issuer

/// Signs registry tokens for the token-auth registry.
struct Issuer {
    key: ring::signature::RsaKeyPair,
    certificate: Vec<u8>,
    issued: Arc<Mutex<HashMap<(String, String), usize>>>,
}

impl Issuer {
    /// Starts the issuer; returns its `127.0.0.1:PORT`.
    fn start(key: Vec<u8>, certificate: Vec<u8>, issued: Arc<Mutex<HashMap<(String, String), usize>>>) -> String {
        let key = ring::signature::RsaKeyPair::from_pkcs8(&key).expect("the issuer key is PKCS#8 RSA");
        let issuer = Issuer { key, certificate, issued };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the issuer");
        let host = listener.local_addr().expect("address").to_string();
        serve(listener, move |request| issuer.answer(&request));
        host
    }

    /// `GET /token` with basic credentials, or `POST /token` with a refresh-token grant.
    fn answer(&self, request: &Request) -> (u16, String) {
        let denied = |status: u16| (status, r#"{"errors":[{"code":"DENIED","message":"access denied"}]}"#.to_owned());
        if request.path != "/token" {
            return denied(404);
        }
        let form = if request.method == "POST" { form_decode(&request.body) } else { request.query.clone() };
        if value(&form, "service") != Some(SERVICE) {
            return denied(400);
        }
        let grant = if request.method == "POST" {
            let valid = value(&form, "grant_type") == Some("refresh_token")
                && value(&form, "refresh_token") == Some(REFRESH_TOKEN);
            if !valid {
                return denied(401);
            }
            "refresh"
        } else {
            let expected = format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")));
            if request.header("authorization") != Some(expected.as_str()) {
                return denied(401);
            }
            "basic"
        };
        // Several scopes: repeated `scope` parameters (GET), or space-separated in one (OAuth2
        // POST). Like a distribution token server, grant what may be granted (not `denied/`),
        // and refuse only when nothing may.
        let scopes: Vec<&str> =
            form.iter().filter(|(name, _)| name == "scope").flat_map(|(_, value)| value.split(' ')).collect();
        let repositories: Vec<&str> = scopes
            .iter()
            .filter_map(|scope| scope.strip_prefix("repository:").and_then(|s| s.strip_suffix(":pull")))
            .collect();
        if repositories.is_empty() || repositories.len() != scopes.len() {
            return denied(400);
        }
        let granted: Vec<&str> = repositories.into_iter().filter(|r| !r.starts_with("denied/")).collect();
        if granted.is_empty() {
            return denied(403);
        }
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        for repository in &granted {
            *issued.entry(((*repository).to_owned(), grant.to_owned())).or_default() += 1;
        }
        drop(issued);
        let token = self.sign(&granted);
        let body = if grant == "refresh" {
            json!({"access_token": token, "expires_in": 300, "refresh_token": REFRESH_TOKEN})
        } else {
            json!({"token": token, "expires_in": 300})
        };
        (200, body.to_string())
    }

    /// An RS256 JWT granting pull on `repositories`.
    fn sign(&self, repositories: &[&str]) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
        let header = json!({"alg": "RS256", "typ": "JWT", "x5c": [STANDARD.encode(&self.certificate)]});
        let claims = json!({
            "iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
            "jti": format!("{now}-{}", repositories.join(",")),
            "access": repositories
                .iter()
                .map(|repository| json!({"type": "repository", "name": repository, "actions": ["pull"]}))
                .collect::<Vec<_>>(),
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("sign the token");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

// ---------------------------------------------------------------------------------------------
// The GCE metadata server

/// Serves the default service account's access token to requests with `Metadata-Flavor: Google`.
fn start_metadata_server(requests: Arc<Mutex<usize>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the metadata server");
    let host = listener.local_addr().expect("address").to_string();
    serve(listener, move |request| {
        let path = "/computeMetadata/v1/instance/service-accounts/default/token";
        if request.path != path || request.header("metadata-flavor") != Some("Google") {
            return (403, "{}".to_owned());
        }
        *requests.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        (200, json!({"access_token": GOOGLE_TOKEN, "expires_in": 3599, "token_type": "Bearer"}).to_string())
    });
    host
}
