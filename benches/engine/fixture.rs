//! The benchmark's registry: Debian's `docker-registry` on loopback, filled quickly, behind a
//! proxy that adds a fixed latency to every request and counts them.
//!
//! One image is pushed over HTTP; every benchmark repository and tag is then written straight
//! into the registry's filesystem storage as links to that image (the layout of distribution
//! 2.x), which takes a second for thousands of tags instead of minutes of pushes.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A running registry; it stops when this is dropped or the process ends (the `sh` wrapper
/// reads its stdin, a pipe held here, and kills the registry when the pipe closes).
pub(crate) struct Registry {
    /// `127.0.0.1:PORT`.
    pub(crate) host: String,
    /// The storage root (`rootdirectory`).
    root: PathBuf,
    /// The digest every benchmark tag points to.
    digest: String,
    blobs: [String; 2],
    _wrapper: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry and pushes the one image the tags will point to.
    pub(crate) fn start() -> Self {
        assert!(Path::new(REGISTRY_BIN).exists(), "`{REGISTRY_BIN}` is missing: apt-get install docker-registry");
        let dir = tempfile::tempdir().expect("a temp dir");
        let host = format!("127.0.0.1:{}", free_port());
        let root = dir.path().join("data");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n",
                root.display()
            ),
        )
        .expect("registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
        // Registry 2.8 rebuilds its router (compiling every route's regexp) for each request
        // (distribution/distribution#3683, fixed in 3.0): ~1.2 ms of CPU per request on this
        // 2-core machine, a third of it garbage collection. A larger GC target cuts that share;
        // the registry's own floor is measured and printed next to every figure anyway.
        let wrapper = Command::new("sh")
            .env("GOGC", "400")
            .arg("-c")
            .arg(r#""$2" serve "$1" & pid=$!; read _; kill $pid; wait $pid"#)
            .args(["sh".as_ref(), config.as_os_str(), REGISTRY_BIN.as_ref()])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn the registry");
        let deadline = Instant::now() + Duration::from_secs(10);
        while http(&host, "GET", "/v2/", &[], &[]).map(|r| r.0) != Some(200) {
            assert!(Instant::now() < deadline, "the registry did not start");
            thread::sleep(Duration::from_millis(20));
        }
        let config_blob = br#"{"architecture":"amd64","os":"linux","rootfs":{"diff_ids":[],"type":"layers"}}"#;
        let layer_blob = b"imgpolicy benchmark layer";
        let blobs = [push_blob(&host, config_blob), push_blob(&host, layer_blob)];
        let manifest = format!(
            r#"{{"config":{{"digest":"{}","mediaType":"application/vnd.oci.image.config.v1+json","size":{}}},"layers":[{{"digest":"{}","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":{}}}],"mediaType":"{OCI_MANIFEST}","schemaVersion":2}}"#,
            blobs[0],
            config_blob.len(),
            blobs[1],
            layer_blob.len()
        );
        let path = "/v2/seed/image/manifests/base";
        let (status, _) = http(&host, "PUT", path, &[("Content-Type", OCI_MANIFEST)], manifest.as_bytes())
            .expect("push the seed manifest");
        assert_eq!(status, 201, "push the seed manifest");
        Self { host, root, digest: sha256(manifest.as_bytes()), blobs, _wrapper: wrapper, _dir: dir }
    }

    /// The digest every tag points to.
    pub(crate) fn digest(&self) -> &str {
        &self.digest
    }

    /// Creates `repository` with `tags`, all pointing to the seed image.
    pub(crate) fn add_repository(&self, repository: &str, tags: &[String]) {
        let base = self.root.join("docker/registry/v2/repositories").join(repository);
        let link = |path: PathBuf, digest: &str| {
            std::fs::create_dir_all(&path).expect("storage directory");
            std::fs::write(path.join("link"), digest).expect("storage link");
        };
        for blob in &self.blobs {
            link(base.join("_layers/sha256").join(hex(blob)), blob);
        }
        link(base.join("_manifests/revisions/sha256").join(hex(&self.digest)), &self.digest);
        for tag in tags {
            let dir = base.join("_manifests/tags").join(tag);
            link(dir.join("current"), &self.digest);
            link(dir.join("index/sha256").join(hex(&self.digest)), &self.digest);
        }
    }
}

fn hex(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// A proxy in front of `upstream` that waits `latency` before forwarding each request, one
/// request per connection, and counts requests.
pub(crate) struct SlowProxy {
    /// `127.0.0.1:PORT`.
    pub(crate) host: String,
    requests: Arc<AtomicUsize>,
}

impl SlowProxy {
    pub(crate) fn start(upstream: &str, latency: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let host = listener.local_addr().expect("proxy address").to_string();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let upstream = upstream.to_owned();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    let _ = relay(stream, &upstream, latency, &counter);
                });
            }
        });
        Self { host, requests }
    }

    /// Requests forwarded so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

fn relay(mut client: TcpStream, upstream: &str, latency: Duration, counter: &AtomicUsize) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..n]);
    }
    counter.fetch_add(1, Ordering::Relaxed);
    thread::sleep(latency);
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default().replace("HTTP/1.1", "HTTP/1.0");
    let mut forwarded = format!("{request_line}\r\nHost: {upstream}\r\nConnection: close\r\n");
    for line in lines.take_while(|line| !line.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().to_ascii_lowercase();
        if !matches!(name.as_str(), "host" | "connection") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("\r\n");
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(forwarded.as_bytes())?;
    let mut response = Vec::new();
    server.read_to_end(&mut response)?;
    client.write_all(&response)?;
    client.shutdown(Shutdown::Both)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port()
}

fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn push_blob(host: &str, blob: &[u8]) -> String {
    let digest = sha256(blob);
    let (status, location) = http(host, "POST", "/v2/seed/image/blobs/uploads/", &[], &[]).expect("start an upload");
    assert_eq!(status, 202, "start an upload");
    let location = location.expect("upload location");
    let path = location.strip_prefix(&format!("http://{host}")).unwrap_or(&location).to_owned();
    let separator = if path.contains('?') { '&' } else { '?' };
    let put = format!("{path}{separator}digest={digest}");
    let (status, _) =
        http(host, "PUT", &put, &[("Content-Type", "application/octet-stream")], blob).expect("upload a blob");
    assert_eq!(status, 201, "upload a blob");
    digest
}

/// One HTTP/1.0 request: the status and the `Location` header.
fn http(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<(u16, Option<String>)> {
    let mut stream = TcpStream::connect(host).ok()?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let location = text
        .split("\r\n")
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("location")))
        .map(|(_, v)| v.trim().to_owned());
    Some((status, location))
}

/// The floor of a cold run against `host`: a minimal client that sends the same requests as
/// `imgpolicy` (each repository's tag list, then a manifest `HEAD` of `tag` in each), every
/// request on a thread and a connection of its own, all of a phase at once. It asks for no
/// token and parses nothing, so its wall time is what the registry (and the proxy, if `host`
/// is one) needs to answer: no client can do the same work faster.
pub(crate) fn floor(host: &str, repositories: &[String], tag: &str) -> Duration {
    let started = Instant::now();
    let lists: Vec<String> = repositories.iter().map(|r| format!("/v2/{r}/tags/list")).collect();
    let heads: Vec<String> = repositories.iter().map(|r| format!("/v2/{r}/manifests/{tag}")).collect();
    for (method, paths) in [("GET", &lists), ("HEAD", &heads)] {
        thread::scope(|scope| {
            for path in paths {
                scope.spawn(move || {
                    let status = http(host, method, path, &[("Accept", OCI_MANIFEST)], &[]).map(|r| r.0);
                    assert_eq!(status, Some(200), "{method} {path}");
                });
            }
        });
    }
    started.elapsed()
}
