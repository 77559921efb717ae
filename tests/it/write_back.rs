//! Write-back safety of `update` when a write fails part way: every file stays as it was and
//! no temporary file is left behind. (Atomic replace, the mode kept, symlinks leading outside
//! and failures before writing are held in `update.rs`.)

use std::path::Path;

use crate::harness::binary;
use crate::scripted_registry::{Images, ScriptedRegistry};

/// A marked Pod of `host/team/app:1.0.0`, padded with a comment of `padding` bytes.
fn pod(host: &str, name: &str, padding: usize) -> String {
    format!(
        "# {}\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - name: app\n    \
         image: {host}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n",
        "x".repeat(padding)
    )
}

fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|entry| {
            let path = entry.expect("entry").path();
            (
                path.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_write_failing_part_way_leaves_every_file_and_no_temporary_file() {
    let images = Images::new("team/app", &["1.0.0", "1.1.0"]);
    let registry = ScriptedRegistry::start(move |request| images.answer(request));
    let host = &registry.host;
    let dir = tempfile::tempdir().expect("dir");
    // Written in path order: the small file first, then the large one, which cannot be written
    // under a 1 KiB file-size limit (EFBIG; SIGXFSZ ignored so the write fails instead).
    std::fs::write(dir.path().join("a-small.yaml"), pod(host, "small", 10)).expect("write");
    std::fs::write(dir.path().join("b-large.yaml"), pod(host, "large", 4096)).expect("write");
    std::fs::write(
        dir.path().join("images.yaml"),
        format!(
            "apiVersion: imgpolicy.dev/v1alpha1\nkind: ImagePolicyConfig\nmetadata: {{name: c}}\nspec:\n  policies:\n  \
             - {{name: app, image: {host}/team/app, policy: {{semver: {{range: '>=1.0.0'}}}}}}\n  \
             registries: [{{host: '{host}', insecure: true}}]\n"
        ),
    )
    .expect("write");
    let before = files(dir.path());
    let output = std::process::Command::new("bash")
        .args(["-c", r#"trap '' XFSZ; ulimit -f 1; exec "$0" update ."#])
        .arg(binary())
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", "/nonexistent")
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: writing `./b-large.yaml`; nothing was written"), "{stderr}");
    assert_eq!(files(dir.path()), before, "every file as it was, no temporary file left");

    // Without the limit the same run writes both.
    let output = std::process::Command::new(binary())
        .args(["update", "."])
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", "/nonexistent")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let after = files(dir.path());
    assert_eq!(after.len(), before.len(), "no temporary file left");
    assert!(after.iter().filter(|(name, _)| name != "images.yaml").all(|(_, text)| text.contains("team/app:1.1.0 #")));
}
