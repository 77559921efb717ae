//! Everything that is not an edited value comes back byte for byte.

use crate::harness::{Test, expand};

fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/fn/{name}", env!("CARGO_MANIFEST_DIR"));
    expand(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}")))
}

#[test]
fn current_values_come_back_byte_identical() {
    let input = fixture("all-current.yaml");
    let output = Test::new().stdin(input.clone()).run();
    assert_eq!(output.status, 0, "{}", output.stderr);
    pretty_assertions::assert_eq!(output.stdout, input);
}

/// In the kpt-shaped case, every line that differs holds a marked value, and the output is
/// the input plus `results`.
#[test]
fn only_marked_lines_change() {
    let input = fixture("kpt-comments.yaml");
    let output = Test::new().stdin(input.clone()).run();
    assert_eq!(output.status, 0, "{}", output.stderr);
    let (body, results) = output.stdout.split_once("\nresults:\n").expect("results appended");
    assert!(results.contains("severity: info"));
    let input_lines: Vec<&str> = input.lines().collect();
    let body_lines: Vec<&str> = body.lines().collect();
    assert_eq!(input_lines.len(), body_lines.len());
    let changed: Vec<usize> = (0..input_lines.len()).filter(|&i| input_lines[i] != body_lines[i]).collect();
    assert_eq!(changed.len(), 5, "changed lines: {changed:?}");
    for index in changed {
        let marked = input_lines[index].contains("$imagepolicy")
            || input_lines[index - 1].contains("$imagepolicy")
            || input_lines[index - 2].contains("$imagepolicy");
        assert!(marked, "unmarked line {index} changed: {:?} -> {:?}", input_lines[index], body_lines[index]);
    }
}

#[test]
fn kustomize_shaped_input_keeps_sorted_keys_and_block_annotations() {
    let input = fixture("kustomize-annotations.yaml");
    let output = Test::new().stdin(input.clone()).run();
    assert_eq!(output.status, 0, "{}", output.stderr);
    let (body, _) = output.stdout.split_once("\nresults:\n").expect("results appended");
    let kept = |text: &str| {
        text.lines()
            .filter(|line| !line.contains("image:") && !line.contains("tag:") && !line.contains("repository:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    pretty_assertions::assert_eq!(kept(body), kept(&input));
}
