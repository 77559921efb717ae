//! A registry whose every answer a test scripts: for faults and hostile behaviour that a real
//! registry never shows (stalls, resets, cut-off bodies, hostile tags, foreign `Link`s, echoed
//! credentials), served on a loopback port of the test's own.
//!
//! [`Images`] gives the normal answers (tag lists, manifests with their digests) of a few
//! synthetic single-platform images; a test's handler returns them, or a [`Reply`] of its own.

// Each test module uses only part of the fixture.
#![allow(dead_code)]

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// One request the registry got.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    /// `GET`, `HEAD`, ...
    pub(crate) method: String,
    /// The path, without the query.
    pub(crate) path: String,
    /// The raw query, without `?`; empty when there was none.
    pub(crate) query: String,
    /// Headers, names lowercased.
    pub(crate) headers: Vec<(String, String)>,
    /// When it came.
    pub(crate) at: Instant,
}

impl Request {
    /// The value of header `name` (lowercase), if sent.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// What the registry does with one request.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// A complete response.
    Respond { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Close the connection without a word.
    Reset,
    /// Say nothing for this long, then close.
    Stall(Duration),
    /// Send the status line, the headers (with the full `Content-Length`) and the first `sent`
    /// bytes of the body, then stall for `stall` and close.
    Cut { status: u16, headers: Vec<(String, String)>, body: Vec<u8>, sent: usize, stall: Duration },
}

impl Reply {
    /// `status` with a JSON body.
    pub(crate) fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::Respond { status, headers: vec![header("Content-Type", "application/json")], body: body.into() }
    }

    /// `status` with a distribution error document.
    pub(crate) fn error(status: u16, code: &str) -> Self {
        Self::json(status, format!(r#"{{"errors":[{{"code":"{code}","message":"scripted"}}]}}"#))
    }

    /// Adds a header to a complete response.
    pub(crate) fn with(mut self, name: &str, value: &str) -> Self {
        if let Self::Respond { headers, .. } | Self::Cut { headers, .. } = &mut self {
            headers.push(header(name, value));
        }
        self
    }
}

/// A header pair.
pub(crate) fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// A scripted registry on `127.0.0.1` (or another loopback address), one thread per connection.
pub(crate) struct ScriptedRegistry {
    /// `IP:PORT` of the registry.
    pub(crate) host: String,
    log: Arc<Mutex<Vec<Request>>>,
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

impl ScriptedRegistry {
    /// Starts a registry on `127.0.0.1` that answers each request with `handler`'s reply.
    pub(crate) fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_on("127.0.0.1", handler)
    }

    /// As [`ScriptedRegistry::start`], on the loopback address `ip` (e.g. `127.0.0.2`).
    pub(crate) fn start_on(ip: &str, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let host = listener.local_addr().expect("address").to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = Arc::clone(&log);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&shared));
                thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Self { host, log }
    }

    /// The requests so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The requests so far as `METHOD /path[?query]`.
    pub(crate) fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                if r.query.is_empty() {
                    format!("{} {}", r.method, r.path)
                } else {
                    format!("{} {}?{}", r.method, r.path, r.query)
                }
            })
            .collect()
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&mut stream) else { return };
    log.lock().unwrap_or_else(|e| e.into_inner()).push(request.clone());
    let head_only = request.method == "HEAD";
    let _ = match handler(&request) {
        Reply::Respond { status, headers, body } => {
            let mut raw = head(status, &headers, body.len());
            if !head_only {
                raw.extend_from_slice(&body);
            }
            stream.write_all(&raw)
        }
        Reply::Reset => Ok(()),
        Reply::Stall(duration) => {
            thread::sleep(duration);
            Ok(())
        }
        Reply::Cut { status, headers, body, sent, stall } => {
            let mut raw = head(status, &headers, body.len());
            raw.extend_from_slice(&body[..sent.min(body.len())]);
            let written = stream.write_all(&raw).and_then(|()| stream.flush());
            thread::sleep(stall);
            written
        }
    };
    let _ = stream.shutdown(Shutdown::Both);
}

/// Status line and headers, with `Content-Length` and `Connection: close`.
fn head(status: u16, headers: &[(String, String)], length: usize) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status} Scripted\r\nContent-Length: {length}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let crate::registry::RequestHead { method, path, query, headers } = crate::registry::read_head(stream)?;
    Some(Request { method, path, query, headers, at: Instant::now() })
}

// ---------------------------------------------------------------------------------------------
// Normal answers

/// The OCI manifest media type the images are served as.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Synthetic images of one repository: what a well-behaved registry answers about them.
#[derive(Clone)]
pub(crate) struct Images {
    /// The repository, e.g. `team/app`.
    pub(crate) repository: String,
    /// Tags in listing order.
    pub(crate) tags: Vec<String>,
}

impl Images {
    /// `repository` with `tags`.
    pub(crate) fn new(repository: &str, tags: &[&str]) -> Self {
        Self { repository: repository.to_owned(), tags: tags.iter().map(|t| (*t).to_owned()).collect() }
    }

    /// The manifest bytes of `tag` (distinct per tag).
    pub(crate) fn manifest(&self, tag: &str) -> Vec<u8> {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[]}}"#,
            sha256(format!("{}:{tag}", self.repository).as_bytes())
        )
        .into_bytes()
    }

    /// The digest of `tag`'s manifest.
    pub(crate) fn digest(&self, tag: &str) -> String {
        sha256(&self.manifest(tag))
    }

    /// The tag list document.
    pub(crate) fn tag_list(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"name": self.repository, "tags": self.tags})).expect("json")
    }

    /// The answer of a registry holding these images: the tag list (one page), and manifests
    /// by tag with `Docker-Content-Digest`; `404` for anything else.
    pub(crate) fn answer(&self, request: &Request) -> Reply {
        let prefix = format!("/v2/{}/", self.repository);
        let Some(rest) = request.path.strip_prefix(&prefix) else { return Reply::error(404, "NAME_UNKNOWN") };
        if rest == "tags/list" {
            return Reply::json(200, self.tag_list());
        }
        match rest.strip_prefix("manifests/") {
            Some(tag) if self.tags.iter().any(|t| t == tag) => Reply::Respond {
                status: 200,
                headers: vec![header("Content-Type", OCI_MANIFEST), header("Docker-Content-Digest", &self.digest(tag))],
                body: self.manifest(tag),
            },
            _ => Reply::error(404, "MANIFEST_UNKNOWN"),
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A ResourceList with one Pod whose container `image` (`host/repository:old`) is marked with
/// policy `app`, `policy` its policy body (e.g. `semver: {range: '>=1.0.0'}`), `policy_extra`
/// more fields of the policy (e.g. `, digestReflectionPolicy: Always`), and `spec_extra` more
/// lines of the ImagePolicyConfig's spec. The host is registered as insecure.
pub(crate) fn resource_list(
    host: &str,
    repository: &str,
    old: &str,
    policy: &str,
    policy_extra: &str,
    spec_extra: &str,
) -> String {
    format!(
        "apiVersion: config.kubernetes.io/v1\n\
         kind: ResourceList\n\
         items:\n\
         - apiVersion: v1\n  kind: Pod\n  metadata:\n    name: pod\n  spec:\n    containers:\n\
         \x20   - name: app\n      image: {host}/{repository}:{old} # {{\"$imagepolicy\": \"flux-system:app\"}}\n\
         functionConfig:\n  apiVersion: imgpolicy.dev/v1alpha1\n  kind: ImagePolicyConfig\n  metadata: {{name: images}}\n  spec:\n\
         \x20   policies:\n    - {{name: app, image: {host}/{repository}, policy: {{{policy}}}{policy_extra}}}\n\
         \x20   registries: [{{host: '{host}', insecure: true}}]\n{spec_extra}"
    )
}
