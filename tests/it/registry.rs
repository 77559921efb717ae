//! A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a loopback
//! port, started once per test binary, holding a fixed set of deterministic images.
//!
//! Every image is built from constant bytes (no timestamps, fixed gzip header), so digests are
//! the same on every run and may appear in snapshots. Two small proxies in front of the
//! registry add what distribution 2.8 lacks: `Link` pagination of tag lists, and bearer-token
//! auth with a token endpoint.
//!
//! The registry must not outlive the test process, although a `static` is never dropped: it
//! runs under `sh -c '"$2" serve "$1" & pid=$!; read _; kill $pid; wait $pid'` whose stdin is a pipe held
//! by this process. When the process exits, however it exits, the pipe closes, `read` returns
//! and the shell kills the registry.

// Each test module uses only part of the fixture.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

/// Where Debian's `docker-registry` package installs the registry.
const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// How long the registry may take to answer `GET /v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Tags per page served by the paginating proxy.
pub(crate) const PAGE_SIZE: usize = 2;
/// The token the token-auth proxy hands out and requires.
const TOKEN: &str = "test-token-not-a-secret";
/// The `service` of the token-auth proxy's challenges.
pub(crate) const TOKEN_SERVICE: &str = "imgpolicy-test-registry";

/// How an image's manifest is written.
#[derive(Clone, Copy)]
enum Format {
    /// OCI image manifest.
    Oci,
    /// Docker image manifest v2 schema 2.
    Docker,
    /// OCI image index with linux/amd64 and linux/arm64 OCI manifests.
    Index,
}

/// The images pushed: repository, manifest format, tags (in push order).
const IMAGES: &[(&str, Format, &[&str])] = &[
    (
        "backend/server",
        Format::Oci,
        &[
            "latest",
            "0.9.0",
            "1.0.0",
            "1.1.0",
            "1.2.0-rc.1",
            "main-0a1b2c3-1700000000",
            "main-4d5e6f7-1700000100",
            "sha256-0123abcd.sig",
        ],
    ),
    ("team/app", Format::Docker, &["1.0.0", "1.0.1", "1.1.0", "2.0.0"]),
    ("multi/arch", Format::Index, &["1.0.0", "1.1.0"]),
    ("numbers/build", Format::Oci, &["1", "2", "10", "9"]),
    ("team/web", Format::Oci, &["1.0.0", "1.1.0", "2.0.0"]),
];

/// The shared test registry and its proxies.
pub(crate) struct TestRegistry {
    /// `127.0.0.1:PORT` of the registry.
    host: String,
    /// `127.0.0.1:PORT` of the paginating proxy.
    paginating_host: String,
    /// `127.0.0.1:PORT` of the token-auth proxy.
    token_host: String,
    /// Token requests per repository served by the token-auth proxy.
    token_requests: Arc<Mutex<HashMap<String, usize>>>,
    /// `repo:tag` -> digest, as pushed; `repo:tag@os/arch` for an index's children.
    digests: HashMap<String, String>,
    /// Where the registry keeps its images; other registries started by the tests serve it too.
    data_dir: std::path::PathBuf,
    /// The `sh` wrapper; its stdin pipe keeps the registry alive.
    _wrapper: Child,
    /// Storage and config; removed when the process ends normally.
    _dir: tempfile::TempDir,
}

impl TestRegistry {
    /// The shared registry of this test binary, started on first use.
    ///
    /// Panics if Debian's `docker-registry` is not installed or the registry does not start:
    /// tests that need it fail rather than skip.
    pub(crate) fn shared() -> &'static TestRegistry {
        static SHARED: OnceLock<TestRegistry> = OnceLock::new();
        SHARED.get_or_init(TestRegistry::start)
    }

    /// `127.0.0.1:PORT` of the registry (plain HTTP, no auth, no pagination).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// `127.0.0.1:PORT` of a proxy that serves tag lists in pages of [`PAGE_SIZE`], sorted,
    /// with `Link` headers (relative from odd pages, absolute from even ones). Other requests
    /// pass through, minus the `Docker-Content-Digest` response header (as some registries
    /// omit it).
    pub(crate) fn paginating_host(&self) -> &str {
        &self.paginating_host
    }

    /// `127.0.0.1:PORT` of a proxy that requires `Authorization: Bearer` on `/v2/` requests and
    /// answers `401` with a `Bearer` challenge whose realm is its own `/token` endpoint. The
    /// endpoint grants the scopes asked for except those of repositories under `denied/`, and
    /// refuses (`403`) a request that asks for nothing else; a token only opens the
    /// repositories it grants.
    pub(crate) fn token_auth_host(&self) -> &str {
        &self.token_host
    }

    /// How many tokens the token-auth proxy has issued that grant `repo` (a token for several
    /// repositories counts for each).
    pub(crate) fn token_requests(&self, repo: &str) -> usize {
        let counts = self.token_requests.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(repo).copied().unwrap_or(0)
    }

    /// Digest of what `repo:tag` points to (the index digest for multi-arch), as pushed.
    /// A new proxy in front of the registry that logs every request it forwards.
    pub(crate) fn recording_proxy(&self) -> RecordingProxy {
        let log = Arc::new(Mutex::new(Vec::new()));
        let host = Proxy::start(self.host.clone(), Mode::Record(Arc::clone(&log)));
        RecordingProxy { host, log }
    }

    /// A new proxy in front of the registry that serves each of `faults` once, in order, to the
    /// first requests it gets, then forwards; with `paginate`, it serves tag lists in pages as
    /// [`TestRegistry::paginating_host`] does.
    pub(crate) fn faulty_proxy(&self, faults: Vec<Fault>, paginate: bool) -> LoggingProxy {
        let mode = if paginate { Mode::Paginate } else { Mode::Forward };
        Proxy::start_logged(self.host.clone(), mode, faults)
    }

    /// A new proxy that answers `401` with a `Basic` challenge to requests without
    /// `Authorization` and redirects the others (`307`) to the same path on `target`.
    pub(crate) fn redirecting_proxy(&self, target: &str) -> LoggingProxy {
        Proxy::start_logged(self.host.clone(), Mode::Redirect(target.to_owned()), Vec::new())
    }

    /// A new logging proxy in front of the registry that forwards everything.
    pub(crate) fn logging_proxy(&self) -> LoggingProxy {
        Proxy::start_logged(self.host.clone(), Mode::Forward, Vec::new())
    }

    /// The registry's storage directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Digest of the `os/arch` manifest in the index `repo:tag` points to.
    pub(crate) fn child_digest(&self, repo: &str, tag: &str, platform: &str) -> &str {
        self.digests
            .get(&format!("{repo}:{tag}@{platform}"))
            .unwrap_or_else(|| panic!("the test registry has no `{platform}` image of `{repo}:{tag}`"))
    }

    pub(crate) fn digest(&self, repo: &str, tag: &str) -> &str {
        self.digests
            .get(&format!("{repo}:{tag}"))
            .unwrap_or_else(|| panic!("the test registry has no image `{repo}:{tag}`"))
    }

    /// The tags pushed to `repo`, in push order.
    pub(crate) fn tags(&self, repo: &str) -> Vec<&'static str> {
        IMAGES
            .iter()
            .find(|(name, _, _)| *name == repo)
            .map(|(_, _, tags)| tags.to_vec())
            .unwrap_or_else(|| panic!("the test registry has no repository `{repo}`"))
    }

    fn start() -> TestRegistry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "`{REGISTRY_BIN}` is missing: the registry tests need Debian's `docker-registry` \
             package (`apt-get install docker-registry`)"
        );
        let dir = tempfile::tempdir().expect("create a temp dir for the test registry");
        let host = format!("127.0.0.1:{}", free_port());
        let data_dir = dir.path().join("data");
        let config_text = format!(
            "version: 0.1\n\
             log:\n  level: error\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n",
            data_dir.display()
        );
        let wrapper = spawn_registry(dir.path(), &host, &config_text, |host| {
            http(host, "GET", "/v2/", &[], &[]).is_ok_and(|r| r.status == 200)
        });

        let mut digests = HashMap::new();
        for (repo, format, tags) in IMAGES {
            for tag in *tags {
                let digest = push_image(&host, repo, tag, *format, &mut digests);
                digests.insert(format!("{repo}:{tag}"), digest);
            }
        }

        let paginating_host = Proxy::start(host.clone(), Mode::Paginate);
        let token_requests = Arc::new(Mutex::new(HashMap::new()));
        let token_host = Proxy::start(host.clone(), Mode::TokenAuth(Arc::clone(&token_requests)));
        TestRegistry {
            host,
            paginating_host,
            token_host,
            token_requests,
            digests,
            data_dir,
            _wrapper: wrapper,
            _dir: dir,
        }
    }
}

/// Starts Debian's `docker-registry` with `config_text` (written to `dir/config.yml`, its log
/// to `dir/registry.log`), listening on `host`; returns once `ready(host)` holds.
///
/// The registry runs under `sh` whose stdin is a pipe held by the returned child: it is killed
/// when this process exits, however it exits.
pub(crate) fn spawn_registry(dir: &Path, host: &str, config_text: &str, ready: impl Fn(&str) -> bool) -> Child {
    assert!(
        Path::new(REGISTRY_BIN).exists(),
        "`{REGISTRY_BIN}` is missing: the registry tests need Debian's `docker-registry` \
         package (`apt-get install docker-registry`)"
    );
    let config = dir.join("config.yml");
    std::fs::write(&config, config_text).expect("write the test registry config");
    let log_path = dir.join("registry.log");
    let log = File::create(&log_path).expect("create the test registry log");
    let log_err = log.try_clone().expect("clone the log handle");
    let mut wrapper = Command::new("sh")
        .arg("-c")
        .arg(r#""$2" serve "$1" & pid=$!; read _; kill $pid; wait $pid"#)
        .arg("sh")
        .arg(&config)
        .arg(REGISTRY_BIN)
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .expect("spawn sh to run the test registry");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if ready(host) {
            return wrapper;
        }
        let exited = wrapper.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("the test registry did not start on `{host}` (exit: {exited:?}); log:\n{log}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A loopback port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

// ---------------------------------------------------------------------------------------------
// Images

/// `sha256:<hex>` of `bytes`.
fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Pushes `repo:tag` and returns the digest the tag points to; an index's children go into
/// `children` as `repo:tag@linux/<arch>`.
fn push_image(host: &str, repo: &str, tag: &str, format: Format, children: &mut HashMap<String, String>) -> String {
    let manifest = match format {
        Format::Oci | Format::Docker => single_manifest(host, repo, tag, "amd64", format),
        Format::Index => {
            let children: Vec<_> = ["amd64", "arm64"]
                .iter()
                .map(|arch| {
                    let child = single_manifest(host, repo, tag, arch, Format::Oci);
                    let digest = push_manifest(host, repo, None, OCI_MANIFEST, &child);
                    children.insert(format!("{repo}:{tag}@linux/{arch}"), digest.clone());
                    json!({
                        "digest": digest,
                        "mediaType": OCI_MANIFEST,
                        "platform": {"architecture": arch, "os": "linux"},
                        "size": child.len(),
                    })
                })
                .collect();
            to_json(&json!({
                "manifests": children,
                "mediaType": OCI_INDEX,
                "schemaVersion": 2,
            }))
        }
    };
    let media_type = match format {
        Format::Oci => OCI_MANIFEST,
        Format::Docker => DOCKER_MANIFEST,
        Format::Index => OCI_INDEX,
    };
    push_manifest(host, repo, Some(tag), media_type, &manifest)
}

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Compact JSON bytes. Every object in this file lists its keys in sorted order, so the bytes
/// (and digests) are the same whether or not serde_json's `preserve_order` feature is on.
fn to_json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serialise JSON")
}

/// Pushes the config and layer of one single-platform image; returns its manifest bytes.
fn single_manifest(host: &str, repo: &str, tag: &str, arch: &str, format: Format) -> Vec<u8> {
    let tar = tar_one_file("image.txt", format!("{repo}:{tag} linux/{arch}\n").as_bytes());
    let layer = gzip_stored(&tar);
    let config = to_json(&json!({
        "architecture": arch,
        "config": {"Labels": {"tag": format!("{repo}:{tag}")}},
        "os": "linux",
        "rootfs": {"diff_ids": [sha256(&tar)], "type": "layers"},
    }));
    let config_digest = push_blob(host, repo, &config);
    let layer_digest = push_blob(host, repo, &layer);
    let (manifest_type, config_type, layer_type) = match format {
        Format::Docker => (
            DOCKER_MANIFEST,
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        ),
        Format::Oci | Format::Index => {
            (OCI_MANIFEST, "application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip")
        }
    };
    to_json(&json!({
        "config": {"digest": config_digest, "mediaType": config_type, "size": config.len()},
        "layers": [{"digest": layer_digest, "mediaType": layer_type, "size": layer.len()}],
        "mediaType": manifest_type,
        "schemaVersion": 2,
    }))
}

/// A ustar archive holding one file, with fixed metadata (mode 0644, uid/gid 0, mtime 0).
fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let mut field = |offset: usize, value: &[u8]| header[offset..offset + value.len()].copy_from_slice(value);
    field(0, name.as_bytes());
    field(100, b"0000644\0");
    field(108, b"0000000\0");
    field(116, b"0000000\0");
    field(124, format!("{:011o}\0", content.len()).as_bytes());
    field(136, b"00000000000\0");
    field(148, b"        ");
    field(156, b"0");
    field(257, b"ustar\0");
    field(263, b"00");
    let checksum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.resize(tar.len() + 1024, 0);
    tar
}

/// A gzip stream of `data` in stored (uncompressed) deflate blocks, with no timestamp.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let len = u16::try_from(chunk.len()).expect("chunks fit in u16");
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    let size = u32::try_from(data.len() % (1 << 32)).expect("fits in u32");
    out.extend_from_slice(&size.to_le_bytes());
    out
}

/// CRC-32 (IEEE), bit by bit: the layers are tiny.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Uploads a blob monolithically (`POST` then `PUT ...&digest=`); returns its digest.
fn push_blob(host: &str, repo: &str, blob: &[u8]) -> String {
    let digest = sha256(blob);
    let started = http(host, "POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]).expect("start a blob upload");
    assert_eq!(started.status, 202, "start upload to `{repo}`: {}", started.text());
    let location = started.header("location").expect("upload location");
    // The location is absolute (`http://host/v2/...?_state=...`) or a path.
    let path = location.strip_prefix(&format!("http://{host}")).unwrap_or(location);
    let separator = if path.contains('?') { '&' } else { '?' };
    let put = format!("{path}{separator}digest={digest}");
    let headers = [("Content-Type", "application/octet-stream")];
    let done = http(host, "PUT", &put, &headers, blob).expect("finish a blob upload");
    assert_eq!(done.status, 201, "upload blob to `{repo}`: {}", done.text());
    digest
}

/// Pushes a manifest under `tag`, or by digest when `tag` is `None`; returns its digest.
fn push_manifest(host: &str, repo: &str, tag: Option<&str>, media_type: &str, body: &[u8]) -> String {
    let digest = sha256(body);
    let reference = tag.unwrap_or(&digest);
    let path = format!("/v2/{repo}/manifests/{reference}");
    let response = http(host, "PUT", &path, &[("Content-Type", media_type)], body).expect("push a manifest");
    assert_eq!(response.status, 201, "push `{repo}:{reference}`: {}", response.text());
    assert_eq!(response.header("docker-content-digest"), Some(digest.as_str()));
    digest
}

// ---------------------------------------------------------------------------------------------
// Minimal HTTP/1.0 over std, for pushing and for the proxies

/// A response: status, headers (names lowercased) and body.
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.0 request with `Connection: close` (no chunked encoding, body ends at EOF).
fn http(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| std::io::Error::other("malformed HTTP response"))
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(HttpResponse { status, headers, body: raw[end + 4..].to_vec() })
}

// ---------------------------------------------------------------------------------------------
// Proxies

/// A proxy of one test's own that logs the requests it forwards.
pub(crate) struct RecordingProxy {
    /// `127.0.0.1:PORT` of the proxy.
    pub(crate) host: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    /// The requests so far, as `METHOD /path`, sorted.
    pub(crate) fn requests(&self) -> Vec<String> {
        let mut requests = self.log.lock().expect("request log").clone();
        requests.sort();
        requests
    }
}

/// A failure a proxy serves to one request instead of answering it.
#[derive(Clone, Debug)]
pub(crate) enum Fault {
    /// `429 Too Many Requests` with this `Retry-After` value.
    TooManyRequests(&'static str),
    /// `503 Service Unavailable`.
    Unavailable,
    /// The connection is closed without a response.
    Reset,
    /// No answer for this long, then the connection is closed.
    Hang(Duration),
}

/// One request a [`LoggingProxy`] got.
#[derive(Clone, Debug)]
pub(crate) struct Logged {
    /// `METHOD /path` plus `?query` if there was one.
    pub(crate) request: String,
    /// The `Authorization` header, if any.
    pub(crate) authorization: Option<String>,
    /// When it came.
    pub(crate) at: Instant,
}

/// A proxy of one test's own that logs every request it gets, faults included.
pub(crate) struct LoggingProxy {
    /// `127.0.0.1:PORT` of the proxy.
    pub(crate) host: String,
    log: Arc<Mutex<Vec<Logged>>>,
}

impl LoggingProxy {
    /// The requests so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The requests so far as `METHOD /path?query`, in arrival order.
    pub(crate) fn request_lines(&self) -> Vec<String> {
        self.requests().into_iter().map(|logged| logged.request).collect()
    }
}

/// What a proxy adds in front of the registry.
enum Mode {
    /// Forward everything.
    Forward,
    /// `401` with a `Basic` challenge without `Authorization`; else `307` to this host.
    Redirect(String),
    /// Serve `/tags/list` in pages with `Link` headers.
    Paginate,
    /// Require bearer tokens; count issued tokens per repository.
    TokenAuth(Arc<Mutex<HashMap<String, usize>>>),
    /// Forward everything; log each request as `METHOD /path`.
    Record(Arc<Mutex<Vec<String>>>),
}

/// A thread-per-connection HTTP proxy on a loopback port, one request per connection.
struct Proxy {
    /// `127.0.0.1:PORT` of the proxy itself.
    own: String,
    /// The registry behind it.
    upstream: String,
    mode: Mode,
    /// Requests served, for thread names.
    served: AtomicUsize,
    /// Faults still to serve, in order.
    faults: Mutex<std::collections::VecDeque<Fault>>,
    /// Where requests are logged, if they are.
    log: Option<Arc<Mutex<Vec<Logged>>>>,
}

/// A request as the proxy reads it: request line parts and headers (names lowercased).
struct ProxyRequest {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Proxy {
    /// Starts a proxy for `upstream`; returns its `127.0.0.1:PORT`.
    fn start(upstream: String, mode: Mode) -> String {
        Self::start_with(upstream, mode, Vec::new(), None)
    }

    /// Starts a proxy that logs its requests and serves `faults` first.
    fn start_logged(upstream: String, mode: Mode, faults: Vec<Fault>) -> LoggingProxy {
        let log = Arc::new(Mutex::new(Vec::new()));
        let host = Self::start_with(upstream, mode, faults, Some(Arc::clone(&log)));
        LoggingProxy { host, log }
    }

    fn start_with(upstream: String, mode: Mode, faults: Vec<Fault>, log: Option<Arc<Mutex<Vec<Logged>>>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy port");
        let own = listener.local_addr().expect("proxy address").to_string();
        let faults = Mutex::new(faults.into());
        let proxy = Arc::new(Proxy { own: own.clone(), upstream, mode, served: AtomicUsize::new(0), faults, log });
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let proxy = Arc::clone(&proxy);
                let n = proxy.served.fetch_add(1, Ordering::Relaxed);
                let _ = thread::Builder::new().name(format!("test-proxy-{n}")).spawn(move || proxy.serve(stream));
            }
        });
        own
    }

    fn serve(&self, mut stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let Some(request) = read_request(&mut stream) else {
            return;
        };
        if let Some(log) = &self.log {
            let query = encode_query(&request.query);
            let authorization = request.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.clone());
            let logged = Logged {
                request: format!("{} {}{query}", request.method, request.path),
                authorization,
                at: Instant::now(),
            };
            log.lock().unwrap_or_else(|e| e.into_inner()).push(logged);
        }
        let fault = self.faults.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        if let Some(fault) = fault {
            let body = br#"{"errors":[{"code":"UNAVAILABLE","message":"try again later"}]}"#;
            let _ = match fault {
                Fault::TooManyRequests(after) => {
                    stream.write_all(&response(429, &[("Retry-After".to_owned(), after.to_owned())], body))
                }
                Fault::Unavailable => stream.write_all(&response(503, &[], body)),
                Fault::Reset => Ok(()),
                Fault::Hang(duration) => {
                    thread::sleep(duration);
                    Ok(())
                }
            };
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let reply = match &self.mode {
            Mode::Forward => None,
            Mode::Redirect(target) => Some(redirect(&request, target)),
            Mode::Paginate => self.paginate(&request),
            Mode::TokenAuth(counts) => self.token_auth(&request, counts),
            Mode::Record(log) => {
                log.lock().expect("request log").push(format!("{} {}", request.method, request.path));
                None
            }
        };
        let _ = match reply {
            // A response to `HEAD` has headers only.
            Some(reply) if request.method == "HEAD" => {
                let end = reply.windows(4).position(|w| w == b"\r\n\r\n").map_or(reply.len(), |i| i + 4);
                stream.write_all(&reply[..end])
            }
            Some(reply) => stream.write_all(&reply),
            None => self.forward(&request, &mut stream),
        };
        let _ = stream.shutdown(Shutdown::Both);
    }

    /// A tag-list page, or `None` to forward the request.
    fn paginate(&self, request: &ProxyRequest) -> Option<Vec<u8>> {
        let repo = request.path.strip_prefix("/v2/")?.strip_suffix("/tags/list")?;
        let full = http(&self.upstream, "GET", &request.path, &[], &[]).ok()?;
        if full.status != 200 {
            return None;
        }
        let list: serde_json::Value = serde_json::from_slice(&full.body).ok()?;
        let mut tags: Vec<&str> = list["tags"].as_array()?.iter().filter_map(|t| t.as_str()).collect();
        tags.sort_unstable();
        let last = query_value(&request.query, "last");
        let size =
            query_value(&request.query, "n").and_then(|n| n.parse().ok()).filter(|n| *n > 0).unwrap_or(PAGE_SIZE);
        let skipped = tags.iter().take_while(|t| Some(**t) <= last).count();
        let page: Vec<&str> = tags.iter().skip(skipped).take(size).copied().collect();
        let mut extra = Vec::new();
        if skipped + page.len() < tags.len() {
            let page_number = skipped / size + 1;
            let last_tag = page.last().copied().unwrap_or_default();
            let relative = format!("/v2/{repo}/tags/list?n={size}&last={last_tag}");
            let target = if page_number % 2 == 1 { relative } else { format!("http://{}{relative}", self.own) };
            extra.push(("Link".to_owned(), format!("<{target}>; rel=\"next\"")));
        }
        let body = to_json(&json!({"name": repo, "tags": page}));
        Some(response(200, &extra, &body))
    }

    /// The token endpoint, a `401` challenge, or `None` to forward an authorised request.
    fn token_auth(&self, request: &ProxyRequest, counts: &Mutex<HashMap<String, usize>>) -> Option<Vec<u8>> {
        if request.path == "/token" {
            // One `scope` parameter per repository; like a distribution token server, grant
            // those that may be granted (not `denied/`), and refuse only when none may. The
            // token names what it grants.
            let service = query_value(&request.query, "service");
            let repos: Vec<Option<&str>> = request
                .query
                .iter()
                .filter(|(name, _)| name == "scope")
                .map(|(_, scope)| scope.strip_prefix("repository:").and_then(|s| s.strip_suffix(":pull")))
                .collect();
            let granted: Vec<&str> = repos.iter().flatten().copied().filter(|r| !r.starts_with("denied/")).collect();
            let valid = service == Some(TOKEN_SERVICE) && !repos.is_empty() && repos.iter().all(Option::is_some);
            if !valid || granted.is_empty() {
                let body = br#"{"errors":[{"code":"DENIED","message":"access to the requested resource is denied"}]}"#;
                return Some(response(403, &[], body));
            }
            let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
            for repo in &granted {
                *counts.entry((*repo).to_owned()).or_default() += 1;
            }
            let body = to_json(&json!({"token": format!("{TOKEN}.{}", granted.join(",")), "expires_in": 300}));
            return Some(response(200, &[], &body));
        }
        let repo = request
            .path
            .strip_prefix("/v2/")
            .and_then(|p| p.rsplit_once("/tags/").or_else(|| p.rsplit_once("/manifests/")))
            .map(|(repo, _)| repo);
        let granted = |token: &str| {
            token
                .strip_prefix(&format!("Bearer {TOKEN}."))
                .is_some_and(|repos| repos.split(',').any(|r| Some(r) == repo))
        };
        if request.headers.iter().any(|(k, v)| k == "authorization" && granted(v)) {
            return None;
        }
        let mut challenge = format!("Bearer realm=\"http://{}/token\",service=\"{TOKEN_SERVICE}\"", self.own);
        if let Some(repo) = repo {
            challenge.push_str(&format!(",scope=\"repository:{repo}:pull\""));
        }
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        Some(response(401, &[("WWW-Authenticate".to_owned(), challenge)], body))
    }

    /// Relays the request to the registry and its response back, byte for byte.
    fn forward(&self, request: &ProxyRequest, client: &mut TcpStream) -> std::io::Result<()> {
        let mut upstream = TcpStream::connect(&self.upstream)?;
        let mut head = format!(
            "{} {}{} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n",
            request.method,
            request.path,
            encode_query(&request.query),
            self.upstream
        );
        for (name, value) in &request.headers {
            if !matches!(name.as_str(), "host" | "connection" | "authorization") {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str("\r\n");
        upstream.write_all(head.as_bytes())?;
        let mut raw = Vec::new();
        upstream.read_to_end(&mut raw)?;
        if matches!(self.mode, Mode::Paginate) {
            raw = without_header(&raw, "docker-content-digest");
        }
        client.write_all(&raw)
    }
}

/// `307` to the same path on `target` when the request carries `Authorization`, else `401`
/// with a `Basic` challenge.
fn redirect(request: &ProxyRequest, target: &str) -> Vec<u8> {
    if request.headers.iter().any(|(k, _)| k == "authorization") {
        let location = format!("http://{target}{}{}", request.path, encode_query(&request.query));
        response(307, &[("Location".to_owned(), location)], b"{}")
    } else {
        let challenge = ("WWW-Authenticate".to_owned(), r#"Basic realm="imgpolicy-test""#.to_owned());
        response(401, &[challenge], br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#)
    }
}

/// A raw HTTP response without the header `name` (lowercase).
fn without_header(raw: &[u8], name: &str) -> Vec<u8> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return raw.to_vec();
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let kept: Vec<&str> = head
        .split("\r\n")
        .filter(|line| line.split_once(':').is_none_or(|(key, _)| !key.trim().eq_ignore_ascii_case(name)))
        .collect();
    let mut out = kept.join("\r\n").into_bytes();
    out.extend_from_slice(&raw[end..]);
    out
}

/// A request head as the test servers read it.
pub(crate) struct RequestHead {
    /// `GET`, `HEAD`, ...
    pub(crate) method: String,
    /// The path, without the query.
    pub(crate) path: String,
    /// The raw query, without `?`; empty when there was none.
    pub(crate) query: String,
    /// Headers, names lowercased.
    pub(crate) headers: Vec<(String, String)>,
}

/// Reads a request head; `None` when the connection ends first or the head is malformed.
pub(crate) fn read_head(stream: &mut TcpStream) -> Option<RequestHead> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = head.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(RequestHead { method, path: path.to_owned(), query: query.to_owned(), headers })
}

/// Reads a request head (no body: the proxies serve `GET` and `HEAD`), query decoded.
fn read_request(stream: &mut TcpStream) -> Option<ProxyRequest> {
    let RequestHead { method, path, query, headers } = read_head(stream)?;
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Some(ProxyRequest { method, path, query, headers })
}

fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `?k=v&...` with the few characters tags and scopes need escaped, or nothing.
fn encode_query(query: &[(String, String)]) -> String {
    if query.is_empty() {
        return String::new();
    }
    let encode = |s: &str| s.replace('%', "%25").replace('&', "%26").replace('+', "%2B");
    let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    format!("?{}", pairs.join("&"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A complete response with a JSON body.
fn response(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        403 => "Forbidden",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

// ---------------------------------------------------------------------------------------------
// Tests of the fixture itself

/// Env var through which `registry_stops_with_the_test_process` asks its child for the host.
const PROBE_ENV: &str = "IMGPOLICY_TEST_REGISTRY_PROBE";

/// Run only as a child of `registry_stops_with_the_test_process`: starts the shared registry,
/// writes its host to the file named by [`PROBE_ENV`], and exits.
#[test]
#[ignore = "helper process for registry_stops_with_the_test_process"]
fn probe_shared_registry() {
    let path = std::env::var(PROBE_ENV).expect("run by registry_stops_with_the_test_process");
    std::fs::write(path, TestRegistry::shared().host()).expect("write the probe file");
}

#[test]
fn registry_stops_with_the_test_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let probe = dir.path().join("host");
    let exe = std::env::current_exe().expect("test binary path");
    let status = Command::new(exe)
        .args(["registry::probe_shared_registry", "--exact", "--ignored", "--quiet"])
        .env(PROBE_ENV, &probe)
        .stdout(Stdio::null())
        .status()
        .expect("run the probe");
    assert!(status.success(), "probe failed: {status}");
    let host = std::fs::read_to_string(&probe).expect("the probe wrote the host");
    assert!(host.starts_with("127.0.0.1:"), "{host}");
    // Generous: on a loaded machine the wrapper shell may take a while to be scheduled.
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&host).is_ok() {
        assert!(Instant::now() < deadline, "the registry on `{host}` still runs after its test process exited");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn images_are_deterministic() {
    // The same bytes every run: the digests below may appear in snapshots.
    let tar = tar_one_file("image.txt", b"backend/server:1.0.0 linux/amd64\n");
    assert_eq!(tar.len(), 2048);
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    let registry = TestRegistry::shared();
    let mut all: Vec<&str> = registry.digests.values().map(String::as_str).collect();
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "every pushed image is distinct");
    // 21 tags, and the linux/amd64 and linux/arm64 children of the two multi-arch tags.
    assert_eq!(count, 25);
    // Pinned: if these change, every snapshot holding a test digest changes too.
    for (image, digest) in [
        ("backend/server:1.0.0", "sha256:d8df15cc7766264cbd3c7787d4252807fa1694aa54ed9b2239bfd23392137026"),
        ("team/app:1.0.0", "sha256:b500495301ca20d40c15dee741cb53c1060ef434336adece099f8f270999d35b"),
        ("multi/arch:1.0.0", "sha256:34e946e72ef05813741ee6a7a1b32e84fd3ab2f7e69496622a8862ba8f5a455e"),
    ] {
        let (repo, tag) = image.split_once(':').expect("repo:tag");
        assert_eq!(registry.digest(repo, tag), digest, "{image}");
    }
}
