//! `imgpolicy select`: from a file, stdin and the registry; `--explain`; exit codes.

use crate::harness::Test;
use crate::registry::TestRegistry;

const TAGS: &str = "1.0.0\nv1.1.0\n1.2.0-rc.1\nlatest\n0.9.0\nsha256-abc.sig\nbad tag\n1.1.0\n\n";

fn tags_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), TAGS).expect("tags written");
    file
}

#[test]
fn picks_from_a_file() {
    let file = tags_file();
    let output = Test::new()
        .args(&["select", "--semver", ">=1.0.0", "--tags-file"])
        .args(&[file.path().to_str().expect("utf-8 path")])
        .run();
    assert_eq!((output.status, output.stdout.as_str(), output.stderr.as_str()), (0, "v1.1.0\n", ""));
}

#[test]
fn picks_from_stdin() {
    let output = Test::new().args(&["select", "--alphabetical", "desc", "--tags-file", "-"]).stdin(TAGS).run();
    assert_eq!((output.status, output.stdout.as_str()), (0, "0.9.0\n"));
}

#[test]
fn picks_from_the_registry() {
    let registry = TestRegistry::shared();
    let image = format!("{}/backend/server", registry.host());
    let output = Test::new().args(&["select", &image, "--insecure", "--semver", ">=1.0.0-0"]).run();
    assert_eq!((output.status, output.stdout.as_str(), output.stderr.as_str()), (0, "1.2.0-rc.1\n", ""));
    let output = Test::new()
        .args(&["select", &image, "--insecure", "--numerical", "asc"])
        .args(&["--filter-pattern", "^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "--filter-extract", "$ts"])
        .run();
    assert_eq!((output.status, output.stdout.as_str()), (0, "main-4d5e6f7-1700000100\n"));
}

#[test]
fn explain_says_what_happened_to_every_tag() {
    let file = tags_file();
    let output = Test::new()
        .args(&["select", "--semver", ">=1.0.0", "--explain", "--tags-file"])
        .args(&[file.path().to_str().expect("utf-8 path")])
        .run();
    assert_eq!(output.status, 0, "{}", output.stderr);
    insta::assert_snapshot!(output.stdout, @r"
    bad tag         not a valid OCI tag, ignored
    1.0.0           `1.0.0` lost to `v1.1.0`
    v1.1.0          selected as `v1.1.0`
    1.2.0-rc.1      version `1.2.0-rc.1`: prerelease versions are not admitted by the range
    latest          not a version: invalid version `latest`: a tag needs two `.` separators to be a version
    0.9.0           version `0.9.0`: outside the range: fails `>=1.0.0`
    sha256-abc.sig  excluded by `^.*\.sig$`
    1.1.0           `1.1.0` lost to `v1.1.0`
    => v1.1.0
    ");
}

#[test]
fn explain_shows_extracted_values() {
    let output = Test::new()
        .args(&["select", "--numerical", "asc", "--explain", "--tags-file", "-"])
        .args(&["--filter-pattern", "^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "--filter-extract", "$ts"])
        .stdin("main-abc-10\nmain-def-9\nrelease-1\nmain-abc-010\n")
        .run();
    assert_eq!(output.status, 0, "{}", output.stderr);
    insta::assert_snapshot!(output.stdout, @r"
    main-abc-10   selected as `10`
    main-def-9    `9` lost to `main-abc-10`
    release-1     filter pattern did not match
    main-abc-010  `010` lost to `main-abc-10`
    => main-abc-10
    ");
}

#[test]
fn nothing_matching_exits_1() {
    let output = Test::new().args(&["select", "--semver", ">=5", "--tags-file", "-"]).stdin(TAGS).run();
    assert_eq!((output.status, output.stdout.as_str()), (1, ""));
    assert_eq!(output.stderr, "no tag matches the policy (7 tags; --explain shows why)\n");
    let output =
        Test::new().args(&["select", "--alphabetical", "asc", "--exclude", ".", "--tags-file", "-"]).stdin(TAGS).run();
    assert_eq!(
        (output.status, output.stderr.as_str()),
        (1, "no tags left after exclusion and filtering (7 tags; --explain shows why)\n")
    );
}

#[test]
fn an_invalid_policy_exits_2_naming_the_field() {
    let output = Test::new().args(&["select", "--semver", ">=1.0.0 <", "--tags-file", "-"]).stdin(TAGS).run();
    assert_eq!((output.status, output.stdout.as_str()), (2, ""));
    assert_eq!(
        output.stderr,
        "error: invalid policy: policy.semver.range: invalid semver range `>=1.0.0 <`: `<` is not followed by a version at byte 8\n"
    );
    let output = Test::new()
        .args(&["select", "--alphabetical", "asc", "--filter-pattern", "(", "--tags-file", "-"])
        .stdin(TAGS)
        .run();
    assert_eq!(output.status, 2);
    assert!(output.stderr.starts_with("error: invalid policy: filterTags.pattern: "), "{}", output.stderr);
}

#[test]
fn registry_failures_exit_2() {
    let registry = TestRegistry::shared();
    let output =
        Test::new().args(&["select", &format!("{}/no/such", registry.host()), "--insecure", "--semver", "*"]).run();
    assert_eq!((output.status, output.stdout.as_str()), (2, ""));
    assert!(output.stderr.contains("listing tags of `") && output.stderr.contains("NAME_UNKNOWN"), "{}", output.stderr);
    let output = Test::new().args(&["select", "ghcr.io/org/app:1.0", "--semver", "*"]).run();
    assert_eq!(output.stderr, "error: IMAGE `ghcr.io/org/app:1.0` must be a repository, without tag or digest\n");
}
