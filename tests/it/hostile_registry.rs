//! A hostile registry: tag lists full of strings that are not tags, `Link`s to other hosts and
//! schemes, a million tags, digest headers that are not digests. Nothing it sends is written
//! unless it is valid, the output stays valid YAML, it is never followed elsewhere, and memory
//! stays bounded.
//!
//! (That a redirect to another host drops `Authorization` is held in `registry_auth.rs`.)

use std::time::Duration;

use crate::harness::Test;
use crate::scripted_registry::{Images, Reply, ScriptedRegistry, header, resource_list};

/// Strings a registry might list as tags that are not tags, each placed to win its policy if
/// it were taken: newlines and YAML syntax that would forge fields, quotes, a comment, a
/// terminal escape, non-ASCII, and 300 characters (valid semver, too long for a tag).
fn hostile_tags() -> Vec<String> {
    vec![
        "9.9.9\nimage: evil".to_owned(),
        "9.9.9: evil".to_owned(),
        "9.9.9 #evil".to_owned(),
        "9.9.9\"evil'".to_owned(),
        "9.9.9\u{1b}[2Jevil".to_owned(),
        "9.9.9-évil".to_owned(),
        format!("9.9.9+{}", "e".repeat(294)),
        "zzzz\n".to_owned(),
        "~evil".to_owned(),
        "ÿevil".to_owned(),
        String::new(),
        ".evil".to_owned(),
    ]
}

/// A registry listing the hostile tags around three good ones.
fn hostile_registry() -> (ScriptedRegistry, Images) {
    let mut tags: Vec<String> = vec!["1.0.0".into(), "1.2.0".into()];
    tags.extend(hostile_tags());
    tags.push("1.1.0".into());
    let images = Images { repository: "team/app".into(), tags };
    let served = images.clone();
    (ScriptedRegistry::start(move |request| served.answer(request)), images)
}

#[test]
fn tags_that_are_not_tags_are_never_written_and_the_output_stays_yaml() {
    let (registry, images) = hostile_registry();
    for (policy, expected) in [
        ("semver: {range: '>=1.0.0'}", "1.2.0"),
        ("alphabetical: {order: asc}", "1.2.0"),
        ("alphabetical: {order: desc}", "1.0.0"),
    ] {
        let input = resource_list(&registry.host, "team/app", "1.0.0", policy, ", digestReflectionPolicy: Always", "");
        let output = Test::new().stdin(input.as_str()).env("DOCKER_CONFIG", "/nonexistent").run();
        assert_eq!(output.status, 0, "{policy}: {}", output.transcript());
        let digest = images.digest(expected);
        let value = format!("{}/team/app:{expected}@{digest}", registry.host);
        assert!(output.stdout.contains(&format!("image: {value} #")), "{policy}: {}", output.stdout);
        let stream = imgpolicy::yaml::parse_stream(&output.stdout).expect("the output is YAML");
        assert_eq!(stream.documents.len(), 1);
        for tag in hostile_tags().iter().filter(|tag| !tag.is_empty()) {
            assert!(!output.stdout.contains(tag.as_str()), "{policy}: `{tag:?}` written:\n{}", output.stdout);
        }
        assert!(!output.stdout.contains("evil") && !output.stderr.contains("evil"), "{}", output.transcript());
    }
}

#[test]
fn select_explain_shows_hostile_tags_escaped_and_cut() {
    let (registry, _) = hostile_registry();
    let image = format!("{}/team/app", registry.host);
    let output = Test::new()
        .args(&["select", &image, "--insecure", "--semver", ">=1.0.0", "--explain"])
        .env("DOCKER_CONFIG", "/nonexistent")
        .run();
    assert_eq!(output.status, 0, "{}", output.transcript());
    assert!(output.stdout.ends_with("=> 1.2.0\n"), "{}", output.stdout);
    assert!(!output.stdout.contains('\u{1b}'), "a terminal escape reached stdout");
    // One line per tag (15) plus the outcome: no tag forged a line of its own.
    assert_eq!(output.stdout.lines().count(), 16, "{}", output.stdout);
    assert!(output.stdout.contains("9.9.9\\nimage: evil"), "{}", output.stdout);
    assert!(output.stdout.lines().all(|line| line.chars().count() < 200), "{}", output.stdout);
}

#[test]
fn links_to_another_host_or_scheme_are_not_followed() {
    let elsewhere = ScriptedRegistry::start_on("127.0.0.2", |_| Reply::json(200, r#"{"tags":["9.9.9"]}"#));
    for target in [
        format!("http://{}/v2/team/app/tags/list?last=1.0.0", elsewhere.host),
        format!("//{}/v2/team/app/tags/list?last=1.0.0", elsewhere.host),
        "https://HOST/v2/team/app/tags/list?last=1.0.0".to_owned(),
    ] {
        let images = Images::new("team/app", &["1.0.0", "1.1.0"]);
        let registry = ScriptedRegistry::start(move |request| match request.path.as_str() {
            "/v2/team/app/tags/list" => {
                let own = request.header("host").unwrap_or_default().to_owned();
                Reply::json(200, r#"{"tags":["1.0.0"]}"#)
                    .with("Link", &format!("<{}>; rel=\"next\"", target.replace("HOST", &own)))
            }
            _ => images.answer(request),
        });
        let input = resource_list(&registry.host, "team/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", "");
        let output = Test::new().stdin(input.as_str()).env("DOCKER_CONFIG", "/nonexistent").run();
        assert_eq!(output.status, 1, "{}", output.transcript());
        assert!(output.stdout.contains("only links to the same scheme and host are followed"), "{}", output.stdout);
        assert!(output.stdout.starts_with(&input), "items unchanged");
        assert_eq!(registry.request_lines(), ["GET /v2/team/app/tags/list"]);
    }
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.request_lines());
}

#[test]
fn digest_headers_that_are_not_sha256_digests_are_rejected() {
    let good = format!("sha256:{}", "ab".repeat(32));
    for bad in [
        "sha256:abc".to_owned(),
        good.to_uppercase(),
        format!("sha512:{}", "ab".repeat(64)),
        format!("{good}, {good}"),
        format!("{good}x"),
        "sha256:../../etc/passwd".to_owned(),
    ] {
        let images = Images::new("team/app", &["1.0.0", "1.1.0"]);
        let served = bad.clone();
        let registry = ScriptedRegistry::start(move |request| {
            if request.path.ends_with("/manifests/1.1.0") {
                return Reply::Respond {
                    status: 200,
                    headers: vec![
                        header("Content-Type", crate::scripted_registry::OCI_MANIFEST),
                        header("Docker-Content-Digest", &served),
                    ],
                    body: images.manifest("1.1.0"),
                };
            }
            images.answer(request)
        });
        let input = resource_list(
            &registry.host,
            "team/app",
            "1.0.0",
            "semver: {range: '>=1.0.0'}",
            ", digestReflectionPolicy: Always",
            "",
        );
        let output = Test::new().stdin(input.as_str()).env("DOCKER_CONFIG", "/nonexistent").run();
        assert_eq!(output.status, 1, "{bad}: {}", output.transcript());
        assert!(output.stdout.contains("sent an invalid digest"), "{bad}: {}", output.stdout);
        let (items, _) = output.stdout.split_once("results:\n").expect("results");
        assert_eq!(items, input, "{bad}: items unchanged");
        imgpolicy::yaml::parse_stream(&output.stdout).expect("the output is YAML");
    }
}

/// Serves `count` tags (`1.0.0` ... `1.0.<count-1>` shuffled by a stride) in pages of
/// `page` with relative `Link`s, or in one page when `page` is `None`.
fn many_tags(count: usize, page: Option<usize>) -> ScriptedRegistry {
    // A stride coprime to the count visits every index once, out of order.
    let tags: Vec<String> = (0..count).map(|i| format!("1.0.{}", (i * 7_919) % count)).collect();
    let images = Images::new("big/app", &[]);
    ScriptedRegistry::start(move |request| {
        if request.path != "/v2/big/app/tags/list" {
            return images.answer(request);
        }
        let start: usize = request.query.strip_prefix("page=").and_then(|p| p.parse().ok()).unwrap_or(0);
        let size = page.unwrap_or(count);
        let end = (start + size).min(count);
        let body =
            serde_json::to_vec(&serde_json::json!({"name": "big/app", "tags": &tags[start..end]})).expect("json");
        let reply = Reply::json(200, body);
        if end < count {
            reply.with("Link", &format!("</v2/big/app/tags/list?page={end}>; rel=\"next\""))
        } else {
            reply
        }
    })
}

#[test]
fn a_million_tags_complete_with_bounded_memory() {
    const COUNT: usize = 1_000_000;
    for page in [None, Some(10_000)] {
        let registry = many_tags(COUNT, page);
        let input =
            resource_list(&registry.host, "big/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", "    timeout: 120s\n");
        let (output, measure) = Test::new().stdin(input.as_str()).env("DOCKER_CONFIG", "/nonexistent").run_measured();
        assert_eq!(output.status, 0, "{}", output.transcript());
        assert!(
            output.stdout.contains(&format!("image: {}/big/app:1.0.{} #", registry.host, COUNT - 1)),
            "{}",
            output.stdout
        );
        let pages = registry.requests().len();
        // Shown with `cargo test a_million_tags -- --nocapture`; the README quotes these figures.
        eprintln!("{COUNT} tags in {pages} page(s): {measure}");
        // Linear in the tag count (about 400 bytes a tag in a debug build); the bound catches
        // anything worse, not a few percent.
        assert!(measure.peak_rss_kib < 768 * 1024, "{measure}");
        assert!(measure.elapsed < Duration::from_secs(120), "{measure}");
    }
}
