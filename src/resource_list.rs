//! The `ResourceList` codec: read one from bytes, write it back with edits and `results`.
//!
//! Output is the input's own bytes with scalar edits spliced in, any `results` entry the input
//! had removed, and the new `results` appended. Everything else is untouched, so kpt's and
//! kustomize's annotations, comments, key order and indentation survive as they came.

pub use crate::resource::{FileRef, Resource, ResourceRef};

use crate::results::FnResult;
use crate::yaml::{Edit, Edits, Node, NodeKind, ParseError, Stream, parse_stream};

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

/// A parsed ResourceList, holding its source.
#[derive(Debug)]
pub struct ResourceList {
    source: String,
    stream: Stream,
}

impl ResourceList {
    /// Parses and checks `source`.
    ///
    /// # Errors
    /// [`InputError::NotYaml`] with line and column; [`InputError::NotAResourceList`] naming the
    /// field that is missing or wrong.
    pub fn parse(source: String) -> Result<Self, InputError> {
        let stream = parse_stream(&source).map_err(InputError::NotYaml)?;
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

    fn root(&self) -> &Node {
        // `parse` guarantees exactly one document.
        &self.stream.documents[0].root
    }

    /// The source bytes.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parsed stream (for comment lookup).
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The items, in order.
    pub fn items(&self) -> Vec<Resource<'_>> {
        self.root().get("items").and_then(Node::items).unwrap_or_default().iter().map(Resource::new).collect()
    }

    /// The functionConfig, unless absent or null.
    pub fn function_config(&self) -> Option<&Node> {
        self.root().get("functionConfig").filter(|config| !config.is_null())
    }

    /// The output: the source with `edits` applied and `results` replacing any the input had.
    ///
    /// # Errors
    /// Only on an internal inconsistency (overlapping edits); nothing partial is returned.
    pub fn render(&self, edits: &Edits, results: &[FnResult]) -> Result<String, String> {
        let mut all = edits.clone();
        let root = self.root();
        let flow = matches!(root.kind, NodeKind::Mapping { flow: true, .. });
        if let Some(range) = self.results_entry_range(flow) {
            all.push(Edit { range, text: String::new() });
        }
        if flow {
            let close = root.range.end.saturating_sub(1);
            if self.source.as_bytes().get(close) != Some(&b'}') {
                return Err("internal error: cannot find the end of the ResourceList mapping".to_owned());
            }
            if !results.is_empty() {
                let json: Vec<_> = results.iter().map(FnResult::to_json).collect();
                let array = serde_json::Value::Array(json);
                let has_entries =
                    root.entries().is_some_and(|entries| entries.iter().any(|e| e.key.as_str() != Some("results")));
                let comma = if has_entries { ", " } else { "" };
                all.push(Edit { range: close..close, text: format!("{comma}\"results\": {array}") });
            }
            return all.apply(&self.source);
        }
        let mut output = all.apply(&self.source)?;
        if !results.is_empty() {
            if !output.is_empty() && !output.ends_with('\n') {
                output.push('\n');
            }
            output.push_str("results:\n");
            for result in results {
                output.push_str(&result.to_yaml());
            }
        }
        Ok(output)
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
        let start = line_start(&self.source, entry.key.range.start);
        let end = match next {
            Some(next) => line_start(&self.source, next.key.range.start),
            None => self.source.len(),
        };
        Some(start..end)
    }
}

/// The offset of the first byte of the line holding `offset`.
fn line_start(source: &str, offset: usize) -> usize {
    source[..offset].rfind('\n').map_or(0, |newline| newline + 1)
}
