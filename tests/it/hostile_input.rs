//! Hostile input: alias bombs, deep nesting, 100 MB, invalid UTF-8, duplicate keys, anchors
//! and aliases on marked values, custom tags. Each gets a clear error or correct handling,
//! never a panic, in bounded time and memory.

use std::time::Duration;

use crate::harness::{Output, Test};
use crate::scripted_registry::{Images, ScriptedRegistry, resource_list};

const HEADER: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n";

/// Ten aliases of ten aliases, `levels` deep, indented by `indent`: 10^(levels+1) scalars.
fn bomb(levels: usize, indent: &str) -> String {
    let mut text = format!("{indent}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..=levels {
        let aliases = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("{indent}a{level}: &a{level} [{aliases}]\n"));
    }
    text
}

#[track_caller]
fn assert_no_panic(output: &Output) {
    assert!(!output.stderr.contains("panicked"), "{}", output.transcript());
}

/// Bad input: exit 1, a message naming the place on stderr, nothing on stdout.
#[track_caller]
fn assert_refused(output: &Output, message: &str) {
    assert_no_panic(output);
    assert_eq!((output.status, output.stdout.as_str()), (1, ""), "{}", output.transcript());
    assert!(output.stderr.contains(message), "expected `{message}` in:\n{}", output.stderr);
}

/// A registry with `team/app` at 1.0.0 and 1.1.0, and a function input marking an image of
/// it in the Pod `body` (whose containers sit under `spec.containers`).
fn registry() -> ScriptedRegistry {
    let images = Images::new("team/app", &["1.0.0", "1.1.0"]);
    ScriptedRegistry::start(move |request| images.answer(request))
}

fn config(host: &str) -> String {
    format!(
        "functionConfig:\n  apiVersion: imgpolicy.dev/v1alpha1\n  kind: ImagePolicyConfig\n  metadata: {{name: c}}\n  spec:\n    \
         policies: [{{name: app, image: {host}/team/app, policy: {{semver: {{range: '>=1.0.0'}}}}}}]\n    \
         registries: [{{host: '{host}', insecure: true}}]\n"
    )
}

fn function(input: &str) -> Output {
    Test::new().stdin(input).env("DOCKER_CONFIG", "/nonexistent").run()
}

#[test]
fn an_alias_bomb_in_the_function_config_is_refused_quickly_naming_the_line() {
    // 10^10 scalars once expanded; the limit stops it after 100,000 nodes.
    let input = format!(
        "{HEADER}items: []\nfunctionConfig:\n  apiVersion: imgpolicy.dev/v1alpha1\n  kind: ImagePolicyConfig\n  \
         metadata: {{name: c}}\n  spec:\n    policies: []\n    laughs:\n{}",
        bomb(9, "      ")
    );
    let (output, measure) = Test::new().stdin(input.as_str()).run_measured();
    assert_no_panic(&output);
    assert_eq!(output.status, 1, "{}", output.transcript());
    assert!(output.stdout.starts_with(&input), "printed unchanged, with the error result");
    assert!(
        output.stdout.contains(
            "functionConfig ImagePolicyConfig/c: spec: line 15: the alias `*a3` expands to more than 100000 nodes"
        ),
        "{}",
        output.stdout
    );
    eprintln!("alias bomb: {measure}");
    assert!(measure.elapsed < Duration::from_secs(5) && measure.peak_rss_kib < 100 * 1024, "{measure}");
}

#[test]
fn alias_bombs_elsewhere_cost_nothing_and_come_back_byte_for_byte() {
    let registry = registry();
    let host = &registry.host;
    // A bomb in an item, in a setters annotation (parsed, never expanded), and a 30-level one.
    let input = format!(
        "{HEADER}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: laughs\n    annotations:\n      \
         imgpolicy.dev/setters: '{{a0: &a0 [x, x], a1: &a1 [*a0, *a0, *a0], a2: [*a1, *a1]}}'\n  data:\n{}\
         - apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  spec:\n    containers:\n    - name: app\n      \
         image: {host}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n{}",
        bomb(30, "    "),
        config(host)
    );
    let (output, measure) = Test::new().stdin(input.as_str()).env("DOCKER_CONFIG", "/nonexistent").run_measured();
    assert_no_panic(&output);
    assert_eq!(output.status, 0, "{}", output.transcript());
    let (items, _) = output.stdout.split_once("results:\n").expect("results");
    assert_eq!(items, input.replace("team/app:1.0.0 #", "team/app:1.1.0 #"));
    eprintln!("alias bombs in items: {measure}");
    assert!(measure.elapsed < Duration::from_secs(5) && measure.peak_rss_kib < 100 * 1024, "{measure}");
}

#[test]
fn deep_nesting_is_refused_with_a_clear_error() {
    let flow = format!("{HEADER}items: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_refused(&function(&flow), "error: input is not valid YAML: line 3, column ");
    assert!(function(&flow).stderr.contains("recursion limit exceeded"));
    let mut block = format!("{HEADER}items:\n- kind: Deep\n  x:\n");
    for depth in 0..400 {
        block.push_str(&format!("{}k{depth}:\n", "  ".repeat(depth + 2)));
    }
    assert_refused(&function(&block), "error: input is not valid YAML: line ");
    // An alias chain nests past the limit too: refused before anything expands it.
    let mut chain = format!("{HEADER}items: []\nchain:\n  a0: &a0 x\n");
    for level in 1..=1100 {
        chain.push_str(&format!("  a{level}: &a{level} [*a{}]\n", level - 1));
    }
    assert_refused(&function(&chain), "the alias `*a1022` nests the document deeper than 1024 levels");
}

#[test]
fn a_hundred_megabytes_pass_through_in_bounded_time_and_memory() {
    let registry = registry();
    let host = &registry.host;
    let mut input = format!(
        "{HEADER}items:\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  spec:\n    containers:\n    - name: app\n      \
         image: {host}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"
    );
    let padding = "x".repeat(800);
    let mut index = 0;
    while input.len() < 100 << 20 {
        input.push_str(&format!(
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cm-{index}\n    annotations: \
             {{config.kubernetes.io/index: '{index}', internal.config.kubernetes.io/path: 'cms/cm-{index}.yaml'}}\n  \
             data:\n    # a comment that must survive\n    key: \"{padding}\"\n    other: [a, b, 'c', {{d: e}}]\n"
        ));
        index += 1;
    }
    input.push_str(&config(host));
    let (output, measure) = Test::new().stdin(input.as_str()).env("DOCKER_CONFIG", "/nonexistent").run_measured();
    assert_no_panic(&output);
    assert_eq!(output.status, 0, "{}", output.stderr);
    let (items, results) = output.stdout.split_once("results:\n").expect("results");
    assert!(items == input.replacen("team/app:1.0.0 #", "team/app:1.1.0 #", 1), "only the marked value changed");
    assert_eq!(results.matches("severity:").count(), 1, "{results}");
    // Shown with `cargo test a_hundred_megabytes -- --nocapture`; the README quotes the figures.
    eprintln!("{} MiB, {index} items: {measure}", input.len() >> 20);
    assert!(measure.peak_rss_kib < 1536 * 1024, "{measure}");
    assert!(measure.elapsed < Duration::from_secs(150), "{measure}");
}

#[test]
fn invalid_utf8_is_refused() {
    let mut test = std::process::Command::new(crate::harness::binary());
    let mut child = test
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut input = HEADER.as_bytes().to_vec();
    input.extend_from_slice(b"items:\n- kind: \xff\xfe\n");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &input).expect("stdin");
    let output = child.wait_with_output().expect("finishes");
    let output = Output {
        status: output.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_refused(&output, "error: the ResourceList on stdin is not UTF-8\n  caused by: invalid utf-8 sequence");
}

#[test]
fn duplicate_keys_are_refused_naming_both_lines() {
    let input = format!(
        "{HEADER}items:\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  spec:\n    containers:\n    - name: app\n      \
         image: r.example/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n      image: r.example/evil:1\n"
    );
    assert_refused(
        &function(&input),
        "error: input is not valid YAML: line 11, column 7: duplicate key `image` (first at line 10)",
    );
    // In `update`'s files too.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("pod.yaml"), input.split_once("- ").expect("item").1.replace("\n  ", "\n"))
        .expect("write");
    let output = Test::new().args(&["update", "."]).current_dir(dir.path()).run();
    assert_no_panic(&output);
    assert_eq!(output.status, 2, "{}", output.transcript());
    assert!(output.stderr.contains("duplicate key `image` (first at line 7)"), "{}", output.stderr);
}

#[test]
fn an_anchored_marked_value_is_edited_and_its_aliases_follow_it() {
    // Decided and documented: the anchored scalar is the value; it is edited in place (anchor
    // kept), and every alias of it means the new value without being touched.
    let registry = registry();
    let host = &registry.host;
    let input = format!(
        "{HEADER}items:\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  spec:\n    containers:\n    - name: app\n      \
         image: &img {host}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n    - name: sidecar\n      \
         image: *img\n{}",
        config(host)
    );
    let output = function(&input);
    assert_no_panic(&output);
    assert_eq!(output.status, 0, "{}", output.transcript());
    let (items, results) = output.stdout.split_once("results:\n").expect("results");
    assert_eq!(items, input.replace("team/app:1.0.0 #", "team/app:1.1.0 #"));
    assert!(items.contains(&format!("image: &img {host}/team/app:1.1.0 #")) && items.contains("image: *img\n"));
    assert_eq!(results.matches("severity: info").count(), 1, "{results}");
}

#[test]
fn aliases_are_never_edited() {
    let registry = registry();
    let host = &registry.host;
    let input = format!(
        "{HEADER}items:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n    annotations:\n      \
         imgpolicy.dev/setters: |\n        \"spec.containers[name=b].image\": \"flux-system:app\"\n  spec:\n    containers:\n    \
         - name: a\n      image: &img {host}/team/app:1.0.0\n    - name: b\n      image: *img\n    - name: c\n      \
         image: *img # {{\"$imagepolicy\": \"flux-system:app\"}}\n{}",
        config(host)
    );
    let output = function(&input);
    assert_no_panic(&output);
    assert_eq!(output.status, 0, "{}", output.transcript());
    let (items, results) = output.stdout.split_once("results:\n").expect("results");
    assert_eq!(items, input, "nothing edited");
    assert!(
        results.contains("annotation `imgpolicy.dev/setters`: field `spec.containers[name=b].image` is not a scalar"),
        "{results}"
    );
    assert!(
        results
            .contains("`*img` is an alias, and aliases are never edited; mark the value anchored at line 14 instead"),
        "{results}"
    );
}

#[test]
fn tagged_values_other_than_str_are_left_alone_with_a_warning() {
    let registry = registry();
    let host = &registry.host;
    let input = format!(
        "--- !custom-list\n{HEADER}items:\n- !pod\n  apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  spec:\n    containers:\n    \
         - name: a\n      image: !!str {host}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n    \
         - name: b\n      image: !image {host}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n    \
         - name: c\n      image: !!binary aW1hZ2U= # {{\"$imagepolicy\": \"flux-system:app:tag\"}}\n{}",
        config(host)
    );
    let output = function(&input);
    assert_no_panic(&output);
    assert_eq!(output.status, 0, "{}", output.transcript());
    let (items, results) = output.stdout.split_once("results:\n").expect("results");
    assert_eq!(items, input.replacen("team/app:1.0.0 #", "team/app:1.1.0 #", 1), "only `!!str` is edited");
    assert!(results.contains("the value is tagged `!image`; only untagged or `!!str` values are edited"), "{results}");
    assert!(results.contains("the value is tagged `!!binary`;"), "{results}");
    assert_eq!(results.matches("severity: info").count(), 1, "{results}");
}

#[test]
fn the_standard_cases_still_resolve_through_a_scripted_registry() {
    // Sanity for this module's fixture: the plain case edits.
    let registry = registry();
    let input = resource_list(&registry.host, "team/app", "1.0.0", "semver: {range: '>=1.0.0'}", "", "");
    let output = function(&input);
    assert_eq!(output.status, 0, "{}", output.transcript());
    assert!(output.stdout.contains("team/app:1.1.0 #"));
}
