//! The `ResourceList` codec: read one from bytes, write it back with edits and `results`.
//!
//! Output is the input's own bytes with scalar edits spliced in, any `results` entry the input
//! had removed, and the new `results` appended. Everything else is untouched, so kpt's and
//! kustomize's annotations, comments, key order and indentation survive as they came.
//!
//! Items are handed to an [`ItemHook`] as they are read and are not kept (only what the hook
//! returns for each is), and the output is written straight from the input's bytes: memory
//! is the input plus the largest item, not a tree of the whole list.

pub use crate::resource::{FileRef, Resource, ResourceRef};

use crate::results::FnResult;
use crate::yaml::{Edit, Edits, ItemHook, Node, NodeKind, ParseError, Stream, parse_list};

const API_VERSIONS: [&str; 2] = ["config.kubernetes.io/v1", "config.kubernetes.io/v1beta1"];

/// Why stdin could not be read as a ResourceList.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The bytes are not YAML.
    #[error("input is not valid YAML: {0}")]
    NotYaml(ParseError),
    /// YAML, but not a ResourceList.
    #[error("input is not a ResourceList: {0}")]
    NotAResourceList(String),
}

/// A parsed ResourceList: its source, and its tree with each item as the hook left it.
#[derive(Debug)]
pub struct ResourceList<'s> {
    source: &'s str,
    stream: Stream<'s>,
}

impl<'s> ResourceList<'s> {
    /// Parses and checks `source`, handing every item to `items` as it is read.
    ///
    /// # Errors
    /// [`InputError::NotYaml`] with line and column; [`InputError::NotAResourceList`] naming the
    /// field that is missing or wrong.
    pub fn parse(source: &'s str, items: &mut dyn ItemHook<'s>) -> Result<Self, InputError> {
        let stream = parse_list(source, items).map_err(InputError::NotYaml)?;
        let not_a_list = |reason: String| Err(InputError::NotAResourceList(reason));
        let [document] = stream.documents.as_slice() else {
            return not_a_list(format!("expected exactly one YAML document, found {}", stream.documents.len()));
        };
        let root = &document.root;
        if root.entries().is_none() {
            return not_a_list("the document is not a mapping".to_owned());
        }
        match root.get_str("kind") {
            Some("ResourceList") => {}
            other => return not_a_list(format!("`kind` must be `ResourceList`, found `{}`", other.unwrap_or(""))),
        }
        match root.get_str("apiVersion") {
            Some(version) if API_VERSIONS.contains(&version) => {}
            other => {
                return not_a_list(format!(
                    "`apiVersion` must be one of {}, found `{}`",
                    API_VERSIONS.join(", "),
                    other.unwrap_or("")
                ));
            }
        }
        if let Some(items) = root.get("items").filter(|items| !items.is_null()) {
            let Some(items) = items.items() else {
                return not_a_list("`items` must be a sequence".to_owned());
            };
            if let Some(index) = items.iter().position(|item| item.entries().is_none()) {
                return not_a_list(format!("`items[{index}]` is not a mapping"));
            }
        }
        if let Some(config) = root.get("functionConfig").filter(|config| !config.is_null())
            && config.entries().is_none()
        {
            return not_a_list("`functionConfig` is not a mapping".to_owned());
        }
        Ok(Self { source, stream })
    }

    fn root(&self) -> &Node<'s> {
        // `parse` guarantees exactly one document.
        &self.stream.documents[0].root
    }

    /// The functionConfig, unless absent or null.
    pub fn function_config(&self) -> Option<&Node<'s>> {
        self.root().get("functionConfig").filter(|config| !config.is_null())
    }

    /// Writes the output to `out`: the source with `edits` applied and `results` replacing any
    /// the input had.
    ///
    /// # Errors
    /// An internal inconsistency (overlapping edits), found before anything is written; or
    /// the writer's error.
    pub fn write(&self, edits: &Edits, results: &[FnResult], out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut all = edits.clone();
        let root = self.root();
        let flow = matches!(root.kind, NodeKind::Mapping { flow: true, .. });
        if let Some(range) = self.results_entry_range(flow) {
            all.push(Edit { range, text: String::new() });
        }
        if flow {
            let close = root.range.end.saturating_sub(1);
            if self.source.as_bytes().get(close) != Some(&b'}') {
                return Err(std::io::Error::other("internal error: cannot find the end of the ResourceList mapping"));
            }
            if !results.is_empty() {
                let json: Vec<_> = results.iter().map(FnResult::to_json).collect();
                let array = serde_json::Value::Array(json);
                let has_entries =
                    root.entries().is_some_and(|entries| entries.iter().any(|e| e.key.as_str() != Some("results")));
                let comma = if has_entries { ", " } else { "" };
                all.push(Edit { range: close..close, text: format!("{comma}\"results\": {array}") });
            }
            return all.write_to(self.source, out);
        }
        let mut tracked = LastByte { out, last: None };
        all.write_to(self.source, &mut tracked)?;
        let LastByte { out, last } = tracked;
        if !results.is_empty() {
            if last.is_some_and(|byte| byte != b'\n') {
                out.write_all(b"\n")?;
            }
            out.write_all(b"results:\n")?;
            for result in results {
                out.write_all(result.to_yaml().as_bytes())?;
            }
        }
        Ok(())
    }

    /// The bytes of an existing top-level `results` entry, including its line break.
    fn results_entry_range(&self, flow: bool) -> Option<std::ops::Range<usize>> {
        let entries = self.root().entries()?;
        let position = entries.iter().position(|entry| entry.key.as_str() == Some("results"))?;
        let entry = &entries[position];
        let next = entries.get(position + 1);
        if flow {
            return Some(match (next, position.checked_sub(1)) {
                (Some(next), _) => entry.key.range.start..next.key.range.start,
                (None, Some(previous)) => entries[previous].value.range.end..entry.value.range.end,
                (None, None) => entry.key.range.start..entry.value.range.end,
            });
        }
        let start = line_start(self.source, entry.key.range.start);
        let end = match next {
            Some(next) => line_start(self.source, next.key.range.start),
            None => self.source.len(),
        };
        Some(start..end)
    }
}

/// A writer that remembers the last byte written through it.
struct LastByte<'w, W> {
    out: &'w mut W,
    last: Option<u8>,
}

impl<W: std::io::Write> std::io::Write for LastByte<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.out.write(bytes)?;
        if let Some(&byte) = bytes[..written].last() {
            self.last = Some(byte);
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The offset of the first byte of the line holding `offset`.
fn line_start(source: &str, offset: usize) -> usize {
    source[..offset].rfind('\n').map_or(0, |newline| newline + 1)
}
