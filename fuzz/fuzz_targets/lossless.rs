//! The lossless engine: parse, rewrite some scalars as the resolver would, splice.
//!
//! Input: 8 bytes of seed, then a YAML stream. The seed picks value scalars (mapping values and
//! sequence items, never keys or aliases) and a new value for each from what a registry may
//! give (valid tags, image references, digests, including YAML-ambiguous ones like `1.10`,
//! `on`, `0x1F`, `2024-01-01`). Properties: every byte outside the edited scalars is unchanged;
//! the output parses; it has as many nodes; each edited scalar reads back as its new value, and
//! as a string.
#![no_main]

use imgpolicy::yaml::{Edit, Edits, Node, NodeKind, needs_quotes, parse_stream, render_scalar};
use libfuzzer_sys::fuzz_target;

/// Values a resolver can write: every one passes the tag, image or digest check.
const VALUES: [&str; 16] = [
    "1.2.3",
    "1.10",
    "on",
    "0x1F",
    "2024-01-01",
    "1e3",
    "_",
    "null",
    "0755",
    "1_000",
    "v1.0.0-rc.1",
    "Y",
    "ghcr.io/org/app:1.2.3",
    "127.0.0.1:5000/team/app:2.0.0@sha256:0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
    "sha256:0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
    "main-0a1b2c3-1700000000",
];

/// Value scalars (and every node) in document order.
fn walk<'n>(node: &'n Node<'n>, values: &mut Vec<&'n Node<'n>>, count: &mut usize) {
    *count += 1;
    match &node.kind {
        NodeKind::Scalar(_) | NodeKind::Alias(_) => {}
        NodeKind::Sequence { items, .. } => {
            for item in items.iter() {
                if item.as_scalar().is_some() {
                    values.push(item);
                }
                walk(item, values, count);
            }
        }
        NodeKind::Mapping { entries, .. } => {
            for entry in entries.iter() {
                walk(&entry.key, &mut Vec::new(), count);
                if entry.value.as_scalar().is_some() {
                    values.push(&entry.value);
                }
                walk(&entry.value, values, count);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((seed, rest)) = data.split_first_chunk::<8>() else { return };
    let Ok(source) = std::str::from_utf8(rest) else { return };
    let Ok(stream) = parse_stream(source) else { return };
    let mut state = u64::from_le_bytes(*seed) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut values = Vec::new();
    let mut nodes = 0;
    for document in &stream.documents {
        walk(&document.root, &mut values, &mut nodes);
    }
    let mut edits = Edits::new();
    let mut chosen = Vec::new();
    for node in values {
        if next() % 3 != 0 {
            continue;
        }
        let scalar = node.as_scalar().expect("values are scalars");
        // Only what imgpolicy edits: untagged or `!!str` scalars with bytes of their own.
        if !scalar.is_str() || !node.is_replaceable() {
            continue;
        }
        let value = VALUES[(next() % VALUES.len() as u64) as usize];
        let text = render_scalar(scalar, value);
        chosen.push((node.range.clone(), text.clone(), value));
        edits.push(Edit { range: node.range.clone(), text });
    }
    let output = edits.apply(source).expect("edits of distinct scalars never overlap");

    // Bytes outside the edits are the source's, in order.
    let mut cursor = 0;
    let mut shift: isize = 0;
    let mut new_starts = Vec::new();
    for (range, text, value) in &chosen {
        let out_start = (range.start as isize + shift) as usize;
        assert_eq!(&output[(cursor as isize + shift) as usize..out_start], &source[cursor..range.start]);
        new_starts.push((out_start, *value));
        shift += text.len() as isize - range.len() as isize;
        cursor = range.end;
    }
    assert_eq!(&output[(cursor as isize + shift) as usize..], &source[cursor..]);

    // The output parses, with the same number of nodes, and every edited scalar reads back.
    let reparsed = parse_stream(&output).unwrap_or_else(|e| panic!("output does not parse: {e}\n{output}"));
    let mut values = Vec::new();
    let mut count = 0;
    for document in &reparsed.documents {
        walk(&document.root, &mut values, &mut count);
    }
    assert_eq!(count, nodes, "the shape changed:\n{source}\n---\n{output}");
    for (start, value) in new_starts {
        let node = values
            .iter()
            .find(|node| node.range.start == start)
            .unwrap_or_else(|| panic!("no value at byte {start}:\n{source}\n---\n{output}"));
        assert_eq!(
            node.as_str(),
            Some(value),
            "the value at byte {start} does not read back:\n{source}\n---\n{output}"
        );
        // ... and as a string: a plain scalar YAML would type otherwise must have been quoted.
        let scalar = node.as_scalar().expect("a scalar");
        let plain = scalar.style == imgpolicy::yaml::ScalarStyle::Plain && !scalar.is_tagged();
        assert!(!(plain && needs_quotes(value)), "`{value}` written plain at byte {start}:\n{output}");
    }
});
