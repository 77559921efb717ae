//! Function results: what changed, what was odd, what failed (kpt's `results` schema).

use crate::resource::{FileRef, ResourceIdentity, ResourceRef};
use crate::yaml::{FieldPath, needs_quotes};

/// How serious a result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The run failed.
    Error,
    /// Something the user should look at; the run still succeeded.
    Warning,
    /// A change that was made.
    Info,
}

impl Severity {
    /// The word kpt uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

/// One entry of the output's `results`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnResult {
    /// What happened.
    pub message: String,
    /// How serious it is.
    pub severity: Severity,
    /// The resource it concerns.
    pub resource_ref: Option<ResourceRef>,
    /// The field it concerns.
    pub field_path: Option<String>,
    /// The file the resource came from.
    pub file: Option<FileRef>,
    /// Index of the item it concerns among the run's items (not written out).
    pub item: Option<usize>,
}

impl FnResult {
    /// A result about the run as a whole.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self { message: message.into(), severity, resource_ref: None, field_path: None, file: None, item: None }
    }

    /// A result about one field of one resource, item number `item` of the run.
    pub fn at(
        severity: Severity,
        message: impl Into<String>,
        item: usize,
        resource: &ResourceIdentity,
        field: Option<&FieldPath>,
    ) -> Self {
        Self {
            message: message.into(),
            severity,
            resource_ref: Some(resource.reference.clone()),
            field_path: field.map(ToString::to_string),
            file: resource.file.clone(),
            item: Some(item),
        }
    }

    /// One line for a terminal: `severity: [file: ][Kind name ][field: ]message`.
    pub fn to_line(&self, file: Option<&str>) -> String {
        let mut line = format!("{}: ", self.severity.as_str());
        if let Some(file) = file {
            line.push_str(&format!("{file}: "));
        }
        if let Some(reference) = &self.resource_ref {
            match (&reference.namespace, reference.name.as_str()) {
                (_, "") => line.push_str(&format!("{} ", reference.kind)),
                (Some(namespace), name) => line.push_str(&format!("{} {namespace}/{name} ", reference.kind)),
                (None, name) => line.push_str(&format!("{} {name} ", reference.kind)),
            }
        }
        if let Some(field) = &self.field_path {
            line.push_str(&format!("{field}: "));
        }
        line.push_str(&self.message);
        line
    }

    /// This result as a YAML block sequence item, indented for a top-level `results:` key.
    pub fn to_yaml(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "- message: {}", scalar(&self.message));
        let _ = writeln!(out, "  severity: {}", self.severity.as_str());
        if let Some(reference) = &self.resource_ref {
            out.push_str("  resourceRef:\n");
            let _ = writeln!(out, "    apiVersion: {}", scalar(&reference.api_version));
            let _ = writeln!(out, "    kind: {}", scalar(&reference.kind));
            let _ = writeln!(out, "    name: {}", scalar(&reference.name));
            if let Some(namespace) = &reference.namespace {
                let _ = writeln!(out, "    namespace: {}", scalar(namespace));
            }
        }
        if let Some(path) = &self.field_path {
            let _ = writeln!(out, "  field:\n    path: {}", scalar(path));
        }
        if let Some(file) = &self.file {
            let _ = writeln!(out, "  file:\n    path: {}", scalar(&file.path));
            if let Some(index) = file.index {
                let _ = writeln!(out, "    index: {index}");
            }
        }
        out
    }

    /// This result as JSON, for a ResourceList written in flow style.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("message".into(), self.message.clone().into());
        object.insert("severity".into(), self.severity.as_str().into());
        if let Some(reference) = &self.resource_ref {
            let mut r = serde_json::json!({"apiVersion": reference.api_version, "kind": reference.kind, "name": reference.name});
            if let (Some(namespace), Some(map)) = (&reference.namespace, r.as_object_mut()) {
                map.insert("namespace".into(), namespace.clone().into());
            }
            object.insert("resourceRef".into(), r);
        }
        if let Some(path) = &self.field_path {
            object.insert("field".into(), serde_json::json!({ "path": path }));
        }
        if let Some(file) = &self.file {
            let mut f = serde_json::json!({ "path": file.path });
            if let (Some(index), Some(map)) = (file.index, f.as_object_mut()) {
                map.insert("index".into(), index.into());
            }
            object.insert("file".into(), f);
        }
        serde_json::Value::Object(object)
    }
}

/// `text` as a YAML scalar: plain when that reads back as the same string, else double-quoted.
fn scalar(text: &str) -> std::borrow::Cow<'_, str> {
    if needs_quotes(text) { serde_json::Value::String(text.to_owned()).to_string().into() } else { text.into() }
}
