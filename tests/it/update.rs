//! `imgpolicy update`: in-place, lossless, atomic writes for a CI job; --dry-run, --check,
//! --message-template; refusals.

use std::path::{Path, PathBuf};

use crate::harness::{Output, Test, copy_seed_package, copy_tree, expand};

/// A copy of `testdata/update/repo` with the test registry's address, and the `--config` file.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/update");
        copy_tree(&testdata.join("repo"), &dir.path().join("repo"), &|text| expand(text));
        std::fs::write(
            dir.path().join("app-stable.yaml"),
            expand(&std::fs::read_to_string(testdata.join("app-stable.yaml")).expect("config")),
        )
        .expect("config copy");
        Self { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).expect("file")
    }

    /// Runs `imgpolicy update` in the copy's directory with `args`.
    fn update(&self, args: &[&str]) -> Output {
        let mut all = vec!["update"];
        all.extend_from_slice(args);
        Test::new().args(&all).current_dir(self.dir.path()).run()
    }

    /// Every file's text, by path.
    fn snapshot(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for entry in std::fs::read_dir(dir).expect("dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, out)
                } else {
                    out.push((path.clone(), std::fs::read_to_string(&path).unwrap_or_default()))
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out.sort();
        out
    }
}

const DEV: &str = "repo/overlays/dev/kustomization.yaml";
const BASE: &str = "repo/base/deployment.yaml";

#[test]
fn writes_only_the_marked_values_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    std::fs::set_permissions(repo.path(DEV), std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let (dev_before, base_before) = (repo.read(DEV), repo.read(BASE));
    let output = repo.update(&["repo", "--config", "app-stable.yaml"]);
    assert_eq!(output.status, 0, "{}", output.stderr);
    assert_eq!(
        output.stdout,
        "repo/base/deployment.yaml: Deployment backend-server spec.template.spec.initContainers[name=migrate].image: \
         ${REGISTRY}/team/app:1.0.0 -> ${REGISTRY}/team/app:1.0.1\n\
         repo/overlays/dev/kustomization.yaml: Kustomization images[name=backend-server].newTag: latest -> 1.1.0\n"
            .replace("${REGISTRY}", crate::registry::TestRegistry::shared().host())
    );
    assert_eq!(repo.read(DEV), dev_before.replace("newTag: latest #", "newTag: 1.1.0 #"));
    assert_eq!(repo.read(BASE), base_before.replace("team/app:1.0.0", "team/app:1.0.1"));
    assert_eq!(std::fs::metadata(repo.path(DEV)).expect("stat").permissions().mode() & 0o777, 0o640);
    assert!(
        output.stderr.contains("note: skipping `repo/charts/app/templates/deployment.yaml`, not YAML"),
        "{}",
        output.stderr
    );

    let again = repo.update(&["repo", "--config", "app-stable.yaml", "--check"]);
    assert_eq!((again.status, again.stdout.as_str()), (0, ""), "{}", again.stderr);
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let repo = Repo::new();
    // The config is passed and also under PATH: read once, not "defined twice".
    std::fs::copy(repo.path("app-stable.yaml"), repo.path("repo/app-stable.yaml")).expect("copy");
    let before = repo.snapshot();
    let output = repo.update(&[
        "repo/overlays",
        "repo/flux",
        "repo/app-stable.yaml",
        "--config",
        "repo/app-stable.yaml",
        "--dry-run",
    ]);
    assert_eq!(output.status, 0, "{}", output.stderr);
    let diff = output.stdout.split("repo/overlays/dev/kustomization.yaml: ").next().expect("diff first");
    assert_eq!(
        diff,
        "--- a/repo/overlays/dev/kustomization.yaml\n+++ b/repo/overlays/dev/kustomization.yaml\n@@ -7,4 +7,4 @@\n \
         images:\n - name: backend-server\n   newName: ${REGISTRY}/backend/server\n\
         -  newTag: latest # {\"$imagepolicy\": \"flux-system:backend-server-policy\"}\n\
         +  newTag: 1.1.0 # {\"$imagepolicy\": \"flux-system:backend-server-policy\"}\n"
            .replace("${REGISTRY}", crate::registry::TestRegistry::shared().host())
    );
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn check_exits_1_when_something_would_change_and_writes_nothing() {
    let repo = Repo::new();
    let before = repo.snapshot();
    let output = repo.update(&["repo", "--check", "--config", "app-stable.yaml"]);
    assert_eq!(output.status, 1, "{}", output.stderr);
    assert_eq!(output.stdout.lines().count(), 2, "{}", output.stdout);
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn message_template_renders_the_changes() {
    let repo = Repo::new();
    let output = repo.update(&[
        "repo",
        "--config",
        "app-stable.yaml",
        "--message-template",
        "Update {{count}} images\n\nFiles:\n{{files}}\nObjects:\n{{objects}}",
    ]);
    assert_eq!(output.status, 0, "{}", output.stderr);
    assert_eq!(
        output.stdout,
        "Update 2 images\n\nFiles:\n- repo/base/deployment.yaml\n- repo/overlays/dev/kustomization.yaml\n\n\
         Objects:\n- Deployment backend-server (repo/base/deployment.yaml)\n- Kustomization (repo/overlays/dev/kustomization.yaml)\n"
    );
    assert_eq!(output.stderr.lines().filter(|line| line.contains(" -> ")).count(), 2, "{}", output.stderr);
    let output = repo.update(&["repo", "--check", "--message-template", "{{nope}}"]);
    assert_eq!(output.status, 2);
    assert!(output.stderr.contains("unknown placeholder `{{nope}}`"), "{}", output.stderr);
}

#[test]
fn a_failure_anywhere_writes_nothing() {
    let repo = Repo::new();
    std::fs::write(
        repo.path("repo/broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x # {\"$imagepolicy\": \"flux-system:future\"}\n",
    )
    .expect("write");
    std::fs::write(
        repo.path("repo/future.yaml"),
        expand("apiVersion: imgpolicy.dev/v1alpha1\nkind: ImagePolicyConfig\nmetadata: {name: f}\nspec:\n  policies:\n  - {name: future, image: ${REGISTRY}/team/app, policy: {semver: {range: '>=9'}}}\n  registries: [{host: '${REGISTRY}', insecure: true}]\n"),
    )
    .expect("write");
    let before = repo.snapshot();
    let output = repo.update(&["repo"]);
    assert_eq!((output.status, output.stdout.as_str()), (2, ""));
    assert!(
        output.stderr.contains(
            "error: repo/broken.yaml: Pod p spec.containers[name=c].image: policy `flux-system:future`: no tag of"
        ),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.ends_with("error: nothing was written: resolving failed (errors above)\n"),
        "{}",
        output.stderr
    );
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn refuses_symlinks_leading_outside_the_path() {
    let repo = Repo::new();
    let outside = tempfile::NamedTempFile::new().expect("outside file");
    std::fs::write(outside.path(), "image: x # {\"$imagepolicy\": \"flux-system:backend-server-policy\"}\n")
        .expect("write");
    std::os::unix::fs::symlink(outside.path(), repo.path("repo/overlays/evil.yaml")).expect("symlink");
    let output = repo.update(&["repo"]);
    assert_eq!(output.status, 2);
    assert!(
        output.stderr.ends_with("\nerror: refusing the symlink `repo/overlays/evil.yaml`: it leads outside `repo`\n"),
        "{}",
        output.stderr
    );
}

#[test]
fn marked_files_that_are_not_yaml_are_errors() {
    let repo = Repo::new();
    std::fs::write(
        repo.path("repo/bad.yaml"),
        "image: [x # {\"$imagepolicy\": \"flux-system:backend-server-policy\"}\n",
    )
    .expect("write");
    let output = repo.update(&["repo"]);
    assert_eq!(output.status, 2);
    assert!(
        output.stderr.starts_with("error: `repo/bad.yaml` is not valid YAML\n  caused by: line "),
        "{}",
        output.stderr
    );
}

/// The GitHub Actions example's `imgpolicy update` step, run as written in a copy of the seed
/// package: it updates the dev overlay and writes the commit message the next step uses.
#[test]
fn the_github_actions_example_updates_dev_only() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("functions/examples");
    let workflow = std::fs::read_to_string(examples.join("github-actions/update-dev.yaml")).expect("workflow");
    // Read as YAML, as GitHub reads it (a plain `run:` holding `chore(dev): ...` once made the
    // whole workflow invalid).
    let workflow = imgpolicy::yaml::parse_stream(&workflow).expect("the workflow is YAML");
    let steps = workflow.documents[0].root.get("jobs").and_then(|jobs| jobs.get("update")?.get("steps")?.items());
    let step = steps
        .unwrap_or_default()
        .iter()
        .find(|step| step.get_str("name") == Some("Resolve the dev overlay's markers"))
        .and_then(|step| step.get_str("run")?.strip_prefix("imgpolicy update "))
        .expect("the update step");
    let work = tempfile::tempdir().expect("temp dir");
    copy_seed_package(work.path());
    let message = work.path().join("message");
    let script = format!("imgpolicy update {}", step.replace("/tmp/message", &message.display().to_string()));
    let path = format!(
        "{}:{}",
        crate::harness::binary().parent().expect("dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(work.path())
        .env("PATH", path)
        .env("IMGPOLICY_CACHE_DIR", work.path().join(".cache"))
        .output()
        .expect("bash");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        std::fs::read_to_string(&message).expect("message"),
        "chore(dev): update images\n\n- overlays/dev/kustomization.yaml: Kustomization dev images[name=backend-server].newTag: latest -> 1.1.0\n"
    );
    let prod = std::fs::read_to_string(work.path().join("overlays/prod/kustomization.yaml")).expect("prod");
    assert!(prod.contains("  newTag: 1.0.0\n"), "prod is never touched: {prod}");
}
