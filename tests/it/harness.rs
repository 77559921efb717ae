//! A fluent harness around the `imgpolicy` binary, after just's `Test` builder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::registry::TestRegistry;

/// The binary under test.
pub(crate) fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_imgpolicy"))
}

/// One run of the binary: arguments and stdin in, status and output out.
#[must_use]
pub(crate) struct Test {
    args: Vec<String>,
    stdin: String,
    envs: Vec<(String, String)>,
    dir: Option<PathBuf>,
}

/// What a run produced.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Test {
    /// A run with no arguments: the KRM function.
    pub(crate) fn new() -> Self {
        Self { args: Vec::new(), stdin: String::new(), envs: Vec::new(), dir: None }
    }

    /// Adds arguments.
    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Sets stdin.
    pub(crate) fn stdin(mut self, stdin: impl Into<String>) -> Self {
        self.stdin = stdin.into();
        self
    }

    /// Sets an environment variable for the child.
    #[allow(dead_code)]
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the binary in `dir`.
    pub(crate) fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Runs the binary to completion.
    #[track_caller]
    pub(crate) fn run(self) -> Output {
        self.run_with(Command::new(binary()))
    }

    /// Runs the binary under GNU time (Debian's `time` package, which `.ci/run` installs) and
    /// returns its peak resident memory and wall time too.
    #[track_caller]
    pub(crate) fn run_measured(self) -> (Output, Measure) {
        let mut command = Command::new("/usr/bin/time");
        command.args(["-f", "imgpolicy-measure: %M %e"]).arg(binary());
        let mut output = self.run_with(command);
        let (rest, line) = output.stderr.trim_end().rsplit_once('\n').unwrap_or(("", output.stderr.trim_end()));
        let figures = line
            .strip_prefix("imgpolicy-measure: ")
            .unwrap_or_else(|| panic!("no figures from GNU time:\n{}", output.stderr));
        let (kib, seconds) = figures.split_once(' ').expect("two figures");
        let measure = Measure {
            peak_rss_kib: kib.parse().expect("KiB"),
            elapsed: std::time::Duration::from_secs_f64(seconds.parse().expect("seconds")),
        };
        // GNU time reports a failing exit status on a line of its own.
        let rest: Vec<&str> = rest.lines().filter(|l| !l.starts_with("Command exited with non-zero status")).collect();
        output.stderr = rest.iter().map(|l| format!("{l}\n")).collect();
        (output, measure)
    }

    #[track_caller]
    fn run_with(self, mut command: Command) -> Output {
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        // An empty cache of its own for every run, unless the test sets one with `env`:
        // answers cached by one test must not change what another sees or counts.
        let cache = tempfile::tempdir().expect("a cache directory");
        command.env("IMGPOLICY_CACHE_DIR", cache.path());
        let mut child = command
            .args(&self.args)
            .envs(self.envs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("imgpolicy starts");
        let written = child.stdin.take().expect("stdin is piped").write_all(self.stdin.as_bytes());
        // A run that stops early (a usage error) may exit before reading its input.
        if let Err(error) = written {
            assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "stdin is written: {error}");
        }
        let output = child.wait_with_output().expect("imgpolicy finishes");
        Output {
            status: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Peak resident memory and wall time of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measure {
    /// Peak resident set size (`VmHWM`), in KiB.
    pub(crate) peak_rss_kib: u64,
    /// Wall-clock time.
    pub(crate) elapsed: std::time::Duration,
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peak RSS {} MiB, {:.1} s", self.peak_rss_kib / 1024, self.elapsed.as_secs_f64())
    }
}

impl Output {
    /// The whole run as one text for a snapshot: exit code, stdout, stderr.
    pub(crate) fn transcript(&self) -> String {
        format!("exit: {}\n----- stdout -----\n{}----- stderr -----\n{}", self.status, self.stdout, self.stderr)
    }
}

/// Replaces `${REGISTRY}` (the test registry's host) and `${CLOSED}` (a loopback address
/// nothing listens on) in a fixture.
pub(crate) fn expand(fixture: &str) -> String {
    let registry = TestRegistry::shared();
    fixture.replace("${REGISTRY}", registry.host()).replace("${CLOSED}", &closed_address())
}

/// Copies the tree `from` into `to`, passing every file's text through `transform`.
pub(crate) fn copy_tree(from: &Path, to: &Path, transform: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(to).expect("target directory");
    for entry in std::fs::read_dir(from).expect("source directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target, transform);
        } else {
            let text = std::fs::read_to_string(entry.path()).expect("source file");
            std::fs::write(target, transform(&text)).expect("copied file");
        }
    }
}

/// Copies the seed's kpt package (`functions/examples/kpt-seed`) into `to`, its images on the
/// test registry instead of the example's `127.0.0.1:5000`.
pub(crate) fn copy_seed_package(to: &Path) {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("functions/examples/kpt-seed");
    let registry = TestRegistry::shared();
    copy_tree(&seed, to, &|text| text.replace("127.0.0.1:5000", registry.host()));
}

/// Filters that turn run-specific values back into placeholders in snapshots.
pub(crate) fn filters() -> Vec<(String, &'static str)> {
    vec![(regex_escape(TestRegistry::shared().host()), "$${REGISTRY}"), (r"127\.0\.0\.1:\d+".to_owned(), "$${CLOSED}")]
}

fn regex_escape(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_ascii_alphanumeric() { vec![c] } else { vec!['\\', c] }).collect()
}

/// A loopback address with no listener: bind a free port, then let it go.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let address = listener.local_addr().expect("bound address").to_string();
    drop(listener);
    address
}
