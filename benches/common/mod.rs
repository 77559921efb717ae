//! The ResourceLists the engine and scan benchmarks generate, written once so that both
//! measure the same input.

use std::fmt::Write as _;

/// A Deployment whose container `app` runs `image:1.0.0`, marked with policy `p<policy>`, with
/// `env` variables of padding.
pub(crate) fn push_deployment(text: &mut String, index: usize, image: &str, policy: usize, env: usize) {
    let _ = write!(
        text,
        "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app-{index}\n    namespace: team-{}\n    \
         labels: {{app: app-{index}, tier: backend}}\n    annotations:\n      \
         config.kubernetes.io/path: 'apps/app-{index}.yaml'\n  spec:\n    replicas: 3\n    \
         selector: {{matchLabels: {{app: app-{index}}}}}\n    template:\n      metadata:\n        \
         labels: {{app: app-{index}}}\n      spec:\n        containers:\n        - name: app\n          \
         image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:p{policy}\"}}\n          \
         ports: [{{containerPort: 8080, name: http}}]\n          env:\n",
        index % 50
    );
    for variable in 0..env {
        let _ = writeln!(
            text,
            "          - {{name: SETTING_{variable:02}, value: \"value of setting {variable} for app {index}\"}}"
        );
    }
}

/// The ImagePolicyConfig functionConfig: one semver policy per repository.
pub(crate) fn function_config(
    host: &str,
    repositories: &[String],
    digests: bool,
    concurrency: Option<usize>,
) -> String {
    let mut config = format!(
        "functionConfig:\n  apiVersion: imgpolicy.dev/v1alpha1\n  kind: ImagePolicyConfig\n  metadata: {{name: images}}\n  \
         spec:\n    registries: [{{host: '{host}', insecure: true}}]\n"
    );
    if let Some(concurrency) = concurrency {
        let _ = writeln!(config, "    concurrency: {concurrency}");
    }
    config.push_str("    policies:\n");
    let reflect = if digests { ", digestReflectionPolicy: Always" } else { "" };
    for (index, repository) in repositories.iter().enumerate() {
        let _ = writeln!(
            config,
            "    - {{name: p{index}, image: {host}/{repository}, policy: {{semver: {{range: '>=1.0.0'}}}}{reflect}}}"
        );
    }
    config
}
