//! The KRM function over every case in `testdata/fn`, each output snapshotted whole
//! (exit code, stdout, stderr) in `testdata/fn/snapshots`.

use crate::harness::{Test, expand, filters};

fn run_case(name: &str) -> String {
    let path = format!("{}/testdata/fn/{name}", env!("CARGO_MANIFEST_DIR"));
    let fixture = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    Test::new().stdin(expand(&fixture)).run().transcript()
}

macro_rules! cases {
    ($($test:ident: $file:expr;)*) => {$(
        #[test]
        fn $test() {
            let transcript = run_case($file);
            let filters = filters();
            let filters: Vec<(&str, &str)> = filters.iter().map(|(pattern, replacement)| (pattern.as_str(), *replacement)).collect();
            insta::with_settings!({
                snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fn/snapshots"),
                prepend_module_to_snapshot => false,
                input_file => $file,
                filters => filters,
            }, {
                insta::assert_snapshot!(stringify!($test), transcript);
            });
        }
    )*};
}

cases! {
    kpt_comments: "kpt-comments.yaml";
    kustomize_annotations: "kustomize-annotations.yaml";
    flux_objects: "flux-objects.yaml";
    configmap: "configmap.yaml";
    match_images: "match-images.yaml";
    digest_reflection: "digest-reflection.yaml";
    existing_results_replaced: "existing-results.yaml";
    pin_digests: "pin-digests.yaml";
    error_pin_unknown_tag: "error-pin-unknown-tag.yaml";
    flow_style: "flow-style.yaml";
    warning_unknown_policy: "warning-unknown-policy.yaml";
    warning_bad_markers: "warning-bad-markers.yaml";
    error_no_match: "error-no-match.yaml";
    error_on_error_keep: "error-on-error-keep.yaml";
    error_invalid_range: "error-invalid-range.yaml";
    error_invalid_regex: "error-invalid-regex.yaml";
    error_invalid_config: "error-invalid-config.yaml";
    error_unreachable_registry: "error-unreachable-registry.yaml";
    error_unknown_repository: "error-unknown-repository.yaml";
    error_not_a_number: "error-not-a-number.yaml";
    error_not_yaml: "error-not-yaml.yaml";
    error_not_a_resource_list: "error-not-a-resource-list.yaml";
    error_items_not_a_sequence: "error-items-not-a-sequence.yaml";
}

/// The digest written for a multi-arch tag is the index's, as the registry reports it.
#[test]
fn digest_reflection_writes_the_index_digest() {
    let registry = crate::registry::TestRegistry::shared();
    let stdout = Test::new()
        .stdin(expand(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fn/digest-reflection.yaml"))
                .expect("fixture"),
        ))
        .run()
        .stdout;
    let index = registry.digest("multi/arch", "1.1.0");
    assert!(stdout.contains(&format!("{}/multi/arch:1.1.0@{index} ", registry.host())), "{stdout}");
    assert!(stdout.contains(&format!("digest: \"{index}\"")), "{stdout}");
}

/// `imgpolicy fn` is the same function as `imgpolicy` with no arguments.
#[test]
fn fn_subcommand_is_the_function() {
    let input = expand(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fn/configmap.yaml")).expect("fixture"),
    );
    let bare = Test::new().stdin(input.clone()).run();
    let explicit = Test::new().args(&["fn"]).stdin(input).run();
    assert_eq!((bare.status, &bare.stdout), (0, &explicit.stdout));
    assert!(bare.stdout.contains("results:"), "{}", bare.stdout);
}

/// Unknown arguments are a usage error (exit 2) that prints nothing on stdout.
#[test]
fn usage_errors_exit_2_with_stdout_empty() {
    let output = Test::new().args(&["--no-such-flag"]).run();
    assert_eq!((output.status, output.stdout.as_str()), (2, ""));
    assert!(output.stderr.contains("--no-such-flag"), "{}", output.stderr);
}

/// However many markers use a repository, its tags are listed once, and each distinct tag's
/// digest is looked up once.
#[test]
fn each_repository_is_listed_once_and_each_digest_looked_up_once() {
    let proxy = crate::registry::TestRegistry::shared().recording_proxy();
    let container = |name: &str, image: &str, policy: &str| {
        format!(
            "    - name: {name}\n      image: {}/{image} # {{\"$imagepolicy\": \"flux-system:{policy}\"}}\n",
            proxy.host
        )
    };
    let mut input = String::from(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: many\n  spec:\n    containers:\n",
    );
    for (name, image, policy) in [
        ("a", "team/app:1.0.0", "app"),
        ("b", "team/app:1.0.1", "app"),
        ("c", "team/app:1.0.0", "app-alphabetical"),
        ("d", "multi/arch:1.0.0", "multi"),
        ("e", "multi/arch:1.0.0", "multi"),
        ("f", "multi/arch:1.1.0", "multi"),
    ] {
        input.push_str(&container(name, image, policy));
    }
    input.push_str(&format!(
        "functionConfig:
  apiVersion: imgpolicy.dev/v1alpha1
  kind: ImagePolicyConfig
  metadata: {{name: images}}
  spec:
    policies:
    - {{name: app, image: {host}/team/app, policy: {{semver: {{range: '>=1.0.0'}}}}}}
    - {{name: app-alphabetical, image: {host}/team/app, policy: {{alphabetical: {{}}}}}}
    - {{name: multi, image: {host}/multi/arch, policy: {{semver: {{range: '*'}}}}, digestReflectionPolicy: Always}}
    registries: [{{host: '{host}', insecure: true}}]
",
        host = proxy.host
    ));
    let output = Test::new().stdin(input).run();
    assert_eq!(output.status, 0, "{}{}", output.stdout, output.stderr);
    assert_eq!(output.stdout.matches("severity: info").count(), 6, "{}", output.stdout);
    assert_eq!(
        proxy.requests(),
        ["GET /v2/multi/arch/tags/list", "GET /v2/team/app/tags/list", "HEAD /v2/multi/arch/manifests/1.1.0"]
    );
}
