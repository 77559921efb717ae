//! The disk cache across runs of the binary, against the real registry behind a recording
//! proxy: hits make no request, entries expire with the policy's interval, corrupt entries are
//! fetched again, credentials never share an entry, `--offline` and `--refresh`.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::harness::{Output, Test};
use crate::registry::{RecordingProxy, TestRegistry};
use crate::scripted_registry::resource_list;

/// A ResourceList with a Pod of `host/team/app:1.0.0` marked with policy `app` (semver
/// `>=1.0.0`), and an ImagePolicyConfig; `policy_extra` goes into the policy's flow mapping,
/// `spec_extra` under `spec`.
pub(crate) fn input(host: &str, policy_extra: &str, spec_extra: &str) -> String {
    resource_list(host, "team/app", "1.0.0", "semver: {range: '>=1.0.0'}", policy_extra, spec_extra)
}

/// One "machine": a cache directory and a Docker config of its own.
pub(crate) struct Machine {
    pub(crate) cache: tempfile::TempDir,
    docker_config: tempfile::TempDir,
}

impl Machine {
    pub(crate) fn new() -> Self {
        Self {
            cache: tempfile::tempdir().expect("cache dir"),
            docker_config: tempfile::tempdir().expect("docker config dir"),
        }
    }

    /// The function on `stdin` with `args` and `envs`, with this machine's cache and config.
    #[track_caller]
    pub(crate) fn run(&self, stdin: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut test = Test::new()
            .stdin(stdin)
            .args(args)
            .env("IMGPOLICY_CACHE_DIR", &self.cache.path().display().to_string())
            .env("DOCKER_CONFIG", &self.docker_config.path().display().to_string())
            .env("REGISTRY_AUTH_FILE", "")
            .env("XDG_RUNTIME_DIR", "");
        for (key, value) in envs {
            test = test.env(key, value);
        }
        test.run()
    }

    /// Writes basic credentials for `host` to this machine's `config.json`.
    fn log_in(&self, host: &str, user: &str, password: &str) {
        let auth = STANDARD.encode(format!("{user}:{password}"));
        let json = serde_json::json!({"auths": {host: {"auth": auth}}});
        std::fs::write(self.docker_config.path().join("config.json"), json.to_string()).expect("config.json");
    }
}

/// The `--verbose` cache line.
#[track_caller]
pub(crate) fn cache_line(output: &Output) -> &str {
    output.stderr.lines().find(|line| line.starts_with("imgpolicy: cache: ")).expect("--verbose prints the cache line")
}

#[track_caller]
pub(crate) fn assert_updated(output: &Output, host: &str, to: &str) {
    assert_eq!(output.status, 0, "{}", output.transcript());
    assert!(output.stdout.contains(&format!("image: {host}/team/app:{to} #")), "{}", output.transcript());
}

/// The tag-list requests the proxy has seen.
pub(crate) fn listings(proxy: &RecordingProxy) -> usize {
    proxy.requests().iter().filter(|request| request.ends_with("/tags/list")).count()
}

/// The entry files under a cache directory.
fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "json") {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn a_cache_hit_makes_no_registry_request() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let machine = Machine::new();
    let input = input(host, ", digestReflectionPolicy: Always", "");
    let first = machine.run(&input, &["--verbose"], &[]);
    assert_updated(&first, host, &format!("2.0.0@{}", TestRegistry::shared().digest("team/app", "2.0.0")));
    assert_eq!(proxy.requests(), ["GET /v2/team/app/tags/list", "HEAD /v2/team/app/manifests/2.0.0"]);
    assert!(cache_line(&first).starts_with("imgpolicy: cache: 0 hits (0 disk, 0 redis), 2 misses"), "{}", first.stderr);

    let second = machine.run(&input, &["--verbose"], &[]);
    assert_eq!(second.stdout, first.stdout);
    assert_eq!(proxy.requests().len(), 2, "no new request: {:?}", proxy.requests());
    assert!(
        cache_line(&second).starts_with("imgpolicy: cache: 2 hits (2 disk, 0 redis), 0 misses"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("imgpolicy: registry: 0 requests"), "{}", second.stderr);
    assert!(second.stderr.contains("imgpolicy: network: 0 ms waiting on registries"), "{}", second.stderr);
    assert_eq!(entries(machine.cache.path()).len(), 2, "a tag list and a digest");
}

#[test]
fn entries_expire_after_the_flux_interval() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let flux = format!(
        r#"apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: image.toolkit.fluxcd.io/v1
  kind: ImageRepository
  metadata: {{name: app, namespace: flux-system}}
  spec: {{image: {host}/team/app, interval: 1s, insecure: true}}
- apiVersion: image.toolkit.fluxcd.io/v1
  kind: ImagePolicy
  metadata: {{name: app, namespace: flux-system}}
  spec:
    imageRepositoryRef: {{name: app}}
    policy: {{semver: {{range: '>=1.0.0'}}}}
- apiVersion: v1
  kind: Pod
  metadata: {{name: app}}
  spec:
    containers:
    - name: app
      image: {host}/team/app:1.0.0 # {{"$imagepolicy": "flux-system:app"}}
"#
    );
    let machine = Machine::new();
    assert_updated(&machine.run(&flux, &[], &[]), host, "2.0.0");
    assert_updated(&machine.run(&flux, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 1, "fresh for a second");
    std::thread::sleep(Duration::from_millis(1100));
    let expired = machine.run(&flux, &["--verbose"], &[]);
    assert_updated(&expired, host, "2.0.0");
    assert_eq!(listings(&proxy), 2, "listed again once expired");
    assert!(cache_line(&expired).contains("1 misses (1 expired, 0 corrupt)"), "{}", expired.stderr);
}

#[test]
fn a_policy_interval_sets_the_time_to_live() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let machine = Machine::new();
    let never = input(host, ", interval: 0s", "");
    assert_updated(&machine.run(&never, &[], &[]), host, "2.0.0");
    assert_updated(&machine.run(&never, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 2, "an interval of 0s never reads the cache");
    let invalid = machine.run(&input(host, ", interval: soon", ""), &[], &[]);
    assert_eq!(invalid.status, 1, "{}", invalid.transcript());
    assert!(invalid.stdout.contains("spec.policies[0].interval: invalid duration `soon`"), "{}", invalid.transcript());
}

#[test]
fn a_corrupt_entry_is_ignored_and_fetched_again() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let machine = Machine::new();
    let input = input(host, "", "");
    let first = machine.run(&input, &[], &[]);
    assert_updated(&first, host, "2.0.0");
    let found = entries(machine.cache.path());
    let [entry] = &found[..] else { panic!("one entry expected: {found:?}") };
    let text = std::fs::read(entry).expect("entry");
    std::fs::write(entry, &text[..text.len() / 2]).expect("tear the entry");
    let torn = machine.run(&input, &["--verbose"], &[]);
    assert_eq!(torn.stdout, first.stdout);
    assert_eq!(listings(&proxy), 2);
    assert!(cache_line(&torn).contains("(0 expired, 1 corrupt)"), "{}", torn.stderr);
    // Rewritten whole: the next run hits.
    assert_eq!(std::fs::read(entry).expect("entry").len(), text.len());
    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 2);
}

#[test]
fn credentials_never_share_an_entry() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let machine = Machine::new();
    let input = input(host, "", "");
    let password = "SENTINEL-cache-pa55";
    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    machine.log_in(host, "alice", password);
    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 2, "alice does not see the anonymous entry");
    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 2, "alice hits her own entry");
    machine.log_in(host, "alice", "another-password");
    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 3, "another password, another entry");
    let stored: Vec<String> =
        entries(machine.cache.path()).iter().map(|path| std::fs::read_to_string(path).expect("entry")).collect();
    assert_eq!(stored.len(), 3);
    let encoded = STANDARD.encode(format!("alice:{password}"));
    for text in &stored {
        assert!(!text.contains(password) && !text.contains(&encoded), "a secret in the cache: {text}");
    }
}

#[test]
fn offline_answers_from_the_cache_and_fails_on_a_miss() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let machine = Machine::new();
    // Entries expire at once, but offline takes them at any age.
    let input = input(host, ", interval: 0s", "");
    let missed = machine.run(&input, &["--offline"], &[]);
    assert_eq!(missed.status, 1, "{}", missed.transcript());
    assert!(
        missed.stdout.contains(&format!(
            "policy `flux-system:app`: listing tags of `{host}/team/app`: not in the cache, and offline mode \
             (--offline, IMGPOLICY_OFFLINE) forbids asking the registry"
        )),
        "{}",
        missed.transcript()
    );
    assert!(missed.stdout.contains(&format!("image: {host}/team/app:1.0.0 #")), "unchanged: {}", missed.stdout);
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());

    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 1);
    assert_updated(&machine.run(&input, &["--offline"], &[]), host, "2.0.0");
    assert_updated(&machine.run(&input, &[], &[("IMGPOLICY_OFFLINE", "1")]), host, "2.0.0");
    assert_eq!(listings(&proxy), 1, "offline runs ask nothing");
}

#[test]
fn refresh_skips_reading_and_stores_anew() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let machine = Machine::new();
    let input = input(host, "", "");
    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    assert_updated(&machine.run(&input, &["--refresh"], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 2);
    assert_updated(&machine.run(&input, &[], &[]), host, "2.0.0");
    assert_eq!(listings(&proxy), 2);
    let conflict = machine.run(&input, &["--offline", "--refresh"], &[]);
    assert_eq!(conflict.status, 2, "{}", conflict.transcript());
}

#[test]
fn cache_dir_comes_from_flag_env_or_config() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let machine = Machine::new();
    let spec_dir = tempfile::tempdir().expect("dir");
    let flag_dir = tempfile::tempdir().expect("dir");
    let with_dir = input(host, "", &format!("    cache: {{dir: '{}'}}\n", spec_dir.path().display()));
    // The environment (set by `Machine`) wins over `spec.cache.dir`; the flag wins over both.
    assert_updated(&machine.run(&with_dir, &[], &[]), host, "2.0.0");
    assert_eq!((entries(machine.cache.path()).len(), entries(spec_dir.path()).len()), (1, 0));
    assert_updated(&machine.run(&with_dir, &[], &[("IMGPOLICY_CACHE_DIR", "")]), host, "2.0.0");
    assert_eq!(entries(spec_dir.path()).len(), 1);
    let flag = flag_dir.path().display().to_string();
    assert_updated(&machine.run(&with_dir, &["--cache-dir", &flag], &[]), host, "2.0.0");
    assert_eq!(entries(flag_dir.path()).len(), 1);
    assert_eq!(listings(&proxy), 3, "three caches, three misses");
}
