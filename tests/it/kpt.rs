//! `kpt fn render --allow-exec` over the bundled seed example, against the test registry.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{binary, copy_seed_package};
use crate::registry::TestRegistry;

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).expect("directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() { out.extend(files(&path)) } else { out.push(path) }
    }
    out.sort();
    out
}

#[test]
fn kpt_render_updates_exactly_the_marked_value() {
    let work = tempfile::tempdir().expect("temp dir");
    let package = work.path().join("cloud-provisioning");
    copy_seed_package(&package);
    let before: Vec<(PathBuf, String)> = files(&package)
        .into_iter()
        .map(|p| {
            let t = std::fs::read_to_string(&p).expect("read");
            (p, t)
        })
        .collect();

    let path =
        format!("{}:{}", binary().parent().expect("binary dir").display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("kpt")
        .env("IMGPOLICY_CACHE_DIR", work.path().join("cache"))
        .args(["fn", "render", "--allow-exec", "--truncate-output=false"])
        .arg(&package)
        .env("PATH", path)
        .output()
        .expect("kpt runs (it is installed on these machines)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "kpt fn render failed:\n{stderr}{}", String::from_utf8_lossy(&output.stdout));

    let mut changed = Vec::new();
    for (path, old) in before {
        let new = std::fs::read_to_string(&path).expect("rendered file");
        for (old_line, new_line) in old.lines().zip(new.lines()) {
            if old_line != new_line {
                changed.push((
                    path.strip_prefix(&package).expect("inside").display().to_string(),
                    old_line.to_owned(),
                    new_line.to_owned(),
                ));
            }
        }
        assert_eq!(old.lines().count(), new.lines().count(), "{} changed its line count:\n{new}", path.display());
    }
    assert_eq!(
        changed,
        vec![(
            "overlays/dev/kustomization.yaml".to_owned(),
            r#"  newTag: latest # {"$imagepolicy": "flux-system:backend-server-policy"}"#.to_owned(),
            r#"  newTag: 1.1.0 # {"$imagepolicy": "flux-system:backend-server-policy"}"#.to_owned(),
        )]
    );
}

/// `kpt fn eval --exec` with `key=value` arguments (a ConfigMap functionConfig), as a user
/// would type it for a one-off update.
#[test]
fn kpt_eval_with_configmap_arguments() {
    let registry = TestRegistry::shared();
    let work = tempfile::tempdir().expect("temp dir");
    let package = work.path().join("cloud-provisioning");
    copy_seed_package(&package);
    let output = Command::new("kpt")
        .env("IMGPOLICY_CACHE_DIR", work.path().join("cache"))
        .args(["fn", "eval", "--truncate-output=false"])
        .arg(&package)
        .arg("--exec")
        .arg(binary())
        .arg("--")
        .arg(format!("image={}/backend/server", registry.host()))
        .args(["semver=~1.0", "insecure=true", "name=backend-server-policy"])
        .output()
        .expect("kpt runs");
    assert!(output.status.success(), "kpt fn eval failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let dev = std::fs::read_to_string(package.join("overlays/dev/kustomization.yaml")).expect("dev overlay");
    assert!(dev.contains(r#"  newTag: 1.0.0 # {"$imagepolicy": "flux-system:backend-server-policy"}"#), "{dev}");
    let prod = std::fs::read_to_string(package.join("overlays/prod/kustomization.yaml")).expect("prod overlay");
    assert!(prod.contains("  newTag: 1.0.0\n"), "{prod}");
}
