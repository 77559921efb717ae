//! The hosts users run imgpolicy in: `kubectl kustomize` with the legacy exec plugin, and an
//! ArgoCD config-management plugin running `imgpolicy render` as `plugin.yaml` says.

use std::path::Path;
use std::process::Command;

use crate::harness::{binary, copy_tree};
use crate::registry::TestRegistry;

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("functions/examples").join(name)
}

/// A copy of an example with the test registry's address.
fn copy_example(name: &str, into: &Path) -> std::path::PathBuf {
    let host = TestRegistry::shared().host();
    let target = into.join(name);
    copy_tree(&example(name), &target, &|text| text.replace("127.0.0.1:5000", host));
    target
}

#[test]
fn kubectl_kustomize_runs_the_legacy_exec_plugin() {
    let work = tempfile::tempdir().expect("temp dir");
    let package = copy_example("kustomize-plugin", work.path());
    let plugin_dir = work.path().join("xdg/kustomize/plugin/imgpolicy.dev/v1alpha1/imagepolicyconfig");
    std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
    std::os::unix::fs::symlink(binary(), plugin_dir.join("ImagePolicyConfig")).expect("plugin symlink");

    let output = Command::new("kubectl")
        .env("IMGPOLICY_CACHE_DIR", work.path().join("cache"))
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(package.join("overlays/dev"))
        .env("XDG_CONFIG_HOME", work.path().join("xdg"))
        .output()
        .expect("kubectl runs (it is installed on these machines)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "kubectl kustomize failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let host = TestRegistry::shared().host();
    assert!(stdout.contains(&format!("image: {host}/backend/server:1.1.0\n")), "{stdout}");
    assert!(stdout.contains("namespace: dev"), "{stdout}");
    assert!(stdout.contains("imgpolicy.dev/policy.server: flux-system:backend-server-policy"), "{stdout}");
}

#[test]
fn the_legacy_plugin_fails_loudly_and_prints_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let config = work.path().join("config.yaml");
    std::fs::write(&config, "apiVersion: imgpolicy.dev/v1alpha1\nkind: ImagePolicyConfig\nmetadata: {name: x}\nspec: {policies: [{name: p, image: x, policy: {semver: {range: '>=1 <'}}}]}\n").expect("config");
    let plugin = work.path().join("ImagePolicyConfig");
    std::os::unix::fs::symlink(binary(), &plugin).expect("symlink");
    let output = Command::new(&plugin)
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .env("IMGPOLICY_CACHE_DIR", work.path().join("cache"))
        .output()
        .expect("plugin runs");
    assert_eq!((output.status.code(), output.stdout.as_slice()), (Some(1), &b""[..]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: invalid configuration:\n  functionConfig ImagePolicyConfig/x: spec.policies[0].policy.semver.range: "), "{stderr}");
}

/// `generate` of the shipped plugin.yaml, as ArgoCD runs it: in the application's directory,
/// with ArgoCD's environment and the application's plugin env as `ARGOCD_ENV_*`.
fn argocd_generate(app_dir: &Path, path_env: &str, extra: &[(&str, &str)]) -> std::process::Output {
    let plugin = std::fs::read_to_string(example("argocd/plugin.yaml")).expect("plugin.yaml");
    let script =
        plugin.lines().skip_while(|line| !line.trim_start().starts_with("args:")).nth(1).expect("generate args");
    let script = script.trim_start().strip_prefix("- ").expect("one argument");
    let mut command = Command::new("sh");
    command
        .args(["-c", script])
        .current_dir(app_dir)
        .env_clear()
        .env("PATH", path_env)
        .env("ARGOCD_APP_NAME", "backend-dev")
        .env("ARGOCD_APP_NAMESPACE", "dev")
        .env("ARGOCD_APP_REVISION", "0123456789abcdef0123456789abcdef01234567")
        .env("ARGOCD_APP_SOURCE_REPO_URL", "https://example.invalid/cloud-provisioning.git")
        .env("ARGOCD_APP_SOURCE_PATH", "overlays/dev")
        .env("KUBE_VERSION", "1.32.4")
        .env("KUBE_API_VERSIONS", "v1,apps/v1,batch/v1")
        .env("ARGOCD_APP_PARAMETERS", "null")
        .env("IMGPOLICY_CACHE_DIR", app_dir.join(".imgpolicy-cache"));
    for (key, value) in extra {
        command.env(key, value);
    }
    command.output().expect("sh runs")
}

fn path_with_binary() -> String {
    format!("{}:{}", binary().parent().expect("binary dir").display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn argocd_plugin_renders_a_kustomization() {
    let work = tempfile::tempdir().expect("temp dir");
    let package = copy_example("kustomize-plugin", work.path());
    // ArgoCD renders through the plugin, not kustomize's own plugin: drop the transformer and
    // pass the config by the application's plugin env.
    let dev = package.join("overlays/dev");
    let kustomization = std::fs::read_to_string(dev.join("kustomization.yaml")).expect("kustomization");
    std::fs::write(dev.join("kustomization.yaml"), kustomization.replace("transformers:\n- images.yaml\n", ""))
        .expect("write");
    let output = argocd_generate(&dev, &path_with_binary(), &[("ARGOCD_ENV_IMGPOLICY_CONFIG", "images.yaml")]);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    let host = TestRegistry::shared().host();
    assert!(stdout.starts_with("---\napiVersion: apps/v1\nkind: Deployment\n"), "{stdout}");
    assert!(stdout.contains(&format!("image: {host}/backend/server:1.1.0\n")), "{stdout}");
    assert!(
        stderr.contains("info: Deployment dev/backend-server spec.template.spec.containers[name=server].image: "),
        "{stderr}"
    );
}

#[test]
fn argocd_plugin_renders_plain_manifests_with_comment_markers() {
    let work = tempfile::tempdir().expect("temp dir");
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).expect("app dir");
    let host = TestRegistry::shared().host();
    std::fs::write(
        app.join("imgpolicy.yaml"),
        format!("apiVersion: imgpolicy.dev/v1alpha1\nkind: ImagePolicyConfig\nmetadata: {{name: images}}\nspec:\n  policies:\n  - {{name: app, image: {host}/team/app, policy: {{semver: {{range: '^1.0.0'}}}}}}\n  registries: [{{host: '{host}', insecure: true}}]\n"),
    )
    .expect("config");
    std::fs::write(
        app.join("pod.yaml"),
        format!("# a comment marker works here: no kustomize in between\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n  - name: app\n    image: {host}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n"),
    )
    .expect("pod");
    let output = argocd_generate(&app, &path_with_binary(), &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n  - name: app\n    image: {host}/team/app:1.1.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"
        )
    );
}

#[test]
fn argocd_plugin_never_succeeds_with_empty_output() {
    let work = tempfile::tempdir().expect("temp dir");
    let app = work.path().join("empty");
    std::fs::create_dir_all(&app).expect("app dir");
    std::fs::write(
        app.join("imgpolicy.yaml"),
        "apiVersion: imgpolicy.dev/v1alpha1\nkind: ImagePolicyConfig\nmetadata: {name: images}\nspec: {}\n",
    )
    .expect("config");
    let output = argocd_generate(&app, &path_with_binary(), &[]);
    assert_eq!((output.status.code(), output.stdout.as_slice()), (Some(1), &b""[..]));
    assert!(String::from_utf8_lossy(&output.stderr).contains("refusing to print nothing"));

    std::fs::write(app.join("pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: 'x:1'} # {\"$imagepolicy\": \"flux-system:nope\"}\n").expect("pod");
    std::fs::write(app.join("imgpolicy.yaml"), "apiVersion: imgpolicy.dev/v1alpha1\nkind: ImagePolicyConfig\nmetadata: {name: images}\nspec: {policies: [{name: nope, image: 127.0.0.1:1/x, policy: {semver: {range: '*'}}}], registries: [{host: '127.0.0.1:1', insecure: true}]}\n").expect("config");
    let output = argocd_generate(&app, &path_with_binary(), &[]);
    assert_eq!((output.status.code(), output.stdout.as_slice()), (Some(1), &b""[..]));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing rendered: resolving failed"));
}
