//! A real Redis for tests: Debian's `redis-server` on a free loopback port, one per test that
//! asks, with no persistence and a temporary working directory.
//!
//! Like the test registry, it runs under `sh -c '... & pid=$!; read _; kill $pid'` whose stdin
//! is a pipe held by the returned value: dropping it, or the test process ending however it
//! ends, closes the pipe and the shell stops the server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry::free_port;

/// Where Debian's `redis-server` package installs the server.
const REDIS_BIN: &str = "/usr/bin/redis-server";

/// One `redis-server`, stopped when dropped.
pub(crate) struct TestRedis {
    /// `127.0.0.1:PORT`.
    host: String,
    _wrapper: Child,
    _dir: tempfile::TempDir,
}

impl TestRedis {
    /// Starts a server and waits until it answers `PING`.
    ///
    /// Panics if `redis-server` is not installed or does not start: the fleet-cache tests fail
    /// rather than skip.
    pub(crate) fn start() -> Self {
        assert!(
            Path::new(REDIS_BIN).exists(),
            "`{REDIS_BIN}` is missing: the fleet-cache tests need Debian's `redis-server` package \
             (`apt-get install redis-server`)"
        );
        let dir = tempfile::tempdir().expect("a directory for redis");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("redis.log")).expect("redis log");
        let wrapper = Command::new("sh")
            .arg("-c")
            .arg(r#""$1" --port "$2" --bind 127.0.0.1 --dir "$3" --save '' --appendonly no & pid=$!; read _; kill $pid; wait $pid"#)
            .args(["sh", REDIS_BIN, &port.to_string()])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn sh to run redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while ping(&host).is_none() {
            assert!(Instant::now() < deadline, "redis-server did not start on `{host}`");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self { host, _wrapper: wrapper, _dir: dir }
    }

    /// `redis://127.0.0.1:PORT/DB`.
    pub(crate) fn url(&self, db: u32) -> String {
        format!("redis://{}/{db}", self.host)
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

/// `PONG` if a Redis answers on `host`.
fn ping(host: &str) -> Option<()> {
    let mut stream = TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream.write_all(b"PING\r\n").ok()?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).ok()?;
    (&reply == b"+PONG\r\n").then_some(())
}

#[test]
fn redis_stops_when_dropped() {
    let redis = TestRedis::start();
    let host = redis.host().to_owned();
    assert!(ping(&host).is_some());
    drop(redis);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&host).is_ok() {
        assert!(Instant::now() < deadline, "redis on `{host}` still runs after it was dropped");
        std::thread::sleep(Duration::from_millis(20));
    }
}
