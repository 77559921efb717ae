//! The Redis fleet cache against a real `redis-server`: renderers on different machines share
//! one fetch, concurrent renderers fetch once, and a Redis that is down only costs a warning.

use std::thread;

use crate::cache::{Machine, assert_updated, cache_line, listings};
use crate::redis_server::TestRedis;
use crate::registry::TestRegistry;

/// The cache tests' one-pod ResourceList, with the digest reflected so that a run needs a
/// listing and a manifest lookup.
fn input(host: &str, spec_extra: &str) -> String {
    crate::cache::input(host, ", digestReflectionPolicy: Always", spec_extra)
}

/// [`input`] with `spec.cache.redis` set to `url`.
fn with_redis(host: &str, url: &str) -> String {
    input(host, &format!("    cache: {{redis: '{url}'}}\n"))
}

/// `2.0.0@<digest>`, what every run here writes.
fn updated() -> String {
    format!("2.0.0@{}", TestRegistry::shared().digest("team/app", "2.0.0"))
}

#[test]
fn a_second_machine_gets_the_answer_from_redis() {
    let redis = TestRedis::start();
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let input = with_redis(host, &redis.url(3));
    let digest = TestRegistry::shared().digest("team/app", "2.0.0");
    let first = Machine::new().run(&input, &["--verbose"], &[]);
    assert_updated(&first, host, &format!("2.0.0@{digest}"));
    assert_eq!(proxy.requests().len(), 2);
    let second = Machine::new().run(&input, &["--verbose"], &[]);
    assert_eq!(second.stdout, first.stdout);
    assert_eq!(proxy.requests().len(), 2, "no registry request from the second machine");
    assert!(cache_line(&second).starts_with("imgpolicy: cache: 2 hits (0 disk, 2 redis)"), "{}", second.stderr);
    assert!(!second.stdout.contains("severity: warning"), "{}", second.stdout);
}

#[test]
fn the_environment_names_redis_for_kpt_functions() {
    let redis = TestRedis::start();
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let input = input(host, "");
    let env = [("IMGPOLICY_REDIS_URL", redis.url(0))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_updated(&Machine::new().run(&input, &[], &env), host, &updated());
    assert_updated(&Machine::new().run(&input, &[], &env), host, &updated());
    assert_eq!(proxy.requests().len(), 2);
}

#[test]
fn concurrent_renderers_fetch_once() {
    let redis = TestRedis::start();
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    let input = with_redis(host, &redis.url(0));
    let outputs: Vec<_> = thread::scope(|scope| {
        let runs: Vec<_> = (0..6).map(|_| scope.spawn(|| Machine::new().run(&input, &[], &[]))).collect();
        runs.into_iter().map(|run| run.join().expect("renderer thread")).collect()
    });
    for output in &outputs {
        assert_updated(output, host, &updated());
    }
    assert_eq!(listings(&proxy), 1, "one renderer lists, the others wait: {:?}", proxy.requests());
    assert_eq!(proxy.requests().len(), 2, "{:?}", proxy.requests());
}

#[test]
fn redis_down_falls_back_to_the_local_cache_with_a_warning() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    // Nothing listens on port 1: connections are refused.
    let closed = "redis://127.0.0.1:1/0";
    let input = with_redis(host, closed);
    let machine = Machine::new();
    let output = machine.run(&input, &["--verbose"], &[]);
    assert_updated(&output, host, &updated());
    let warning = format!("fleet cache unavailable, using the local cache only: redis `{closed}`:");
    assert!(output.stdout.contains(&warning), "{}", output.stdout);
    assert_eq!(output.stdout.matches("fleet cache unavailable").count(), 1, "warned once: {}", output.stdout);
    assert!(output.stdout.contains("severity: warning"), "{}", output.stdout);
    // The local cache still works.
    let again = machine.run(&input, &["--verbose"], &[]);
    assert_updated(&again, host, &updated());
    assert_eq!(proxy.requests().len(), 2);
    assert!(cache_line(&again).starts_with("imgpolicy: cache: 2 hits (2 disk, 0 redis)"), "{}", again.stderr);
}

#[test]
fn an_invalid_redis_url_is_a_config_error() {
    let proxy = TestRegistry::shared().recording_proxy();
    let output = Machine::new().run(&with_redis(&proxy.host, "http://:pw@x"), &[], &[]);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("spec.cache.redis: invalid redis URL `http://***@x`: expected `redis://HOST[:PORT][/DB]`"),
        "{}",
        output.stdout
    );
    let results = output.stdout.split("\nresults:\n").nth(1).expect("results");
    assert!(!results.contains("pw") && !output.stderr.contains("pw"), "{}", output.transcript());
}

#[test]
fn a_redis_that_hangs_does_not_hang_the_render() {
    let proxy = TestRegistry::shared().recording_proxy();
    let host = &proxy.host;
    // Accepts connections (the kernel's backlog does) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("redis://{}/0", silent.local_addr().expect("address"));
    let started = std::time::Instant::now();
    let output = Machine::new().run(&with_redis(host, &url), &[], &[]);
    assert_updated(&output, host, &updated());
    assert!(output.stdout.contains(&format!("redis `{url}`: no answer within 2s")), "{}", output.stdout);
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "{:?}", started.elapsed());
}
