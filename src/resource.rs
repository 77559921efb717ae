//! One KRM resource: typed access to the identity fields of a YAML mapping node.

use crate::yaml::{Node, Stream};

/// Annotations kpt and kustomize use for an item's file path, newest first.
const PATH_ANNOTATIONS: [&str; 2] = ["internal.config.kubernetes.io/path", "config.kubernetes.io/path"];
/// Annotations for an item's index within its file, newest first.
const INDEX_ANNOTATIONS: [&str; 2] = ["internal.config.kubernetes.io/index", "config.kubernetes.io/index"];

/// A resource: a mapping node with `apiVersion`, `kind` and `metadata`.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'n> {
    /// The resource's root node.
    pub node: &'n Node<'n>,
}

/// The identity of a resource, as kpt's `resourceRef` spells it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, if set.
    pub namespace: Option<String>,
}

/// What results say about a resource: its identity and its file, owned so that it outlives the
/// tree it was read from (a ResourceList's items are read one at a time and dropped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceIdentity {
    /// The identity kpt reports in `resourceRef`.
    pub reference: ResourceRef,
    /// The file the orchestrator read the resource from, if it said.
    pub file: Option<FileRef>,
}

/// Where a resource came from, from the orchestrator's path annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// The file's path relative to the package.
    pub path: String,
    /// The resource's index among the file's documents.
    pub index: Option<u64>,
}

impl<'n> Resource<'n> {
    /// Wraps a node.
    pub fn new(node: &'n Node<'n>) -> Self {
        Self { node }
    }

    /// Every document of `stream` that is a mapping, in order (empty and scalar documents are
    /// not resources).
    pub fn all_in(stream: &'n Stream<'n>) -> Vec<Self> {
        stream
            .documents
            .iter()
            .map(|document| &document.root)
            .filter(|root| root.entries().is_some())
            .map(Self::new)
            .collect()
    }

    /// `apiVersion`, if a scalar.
    pub fn api_version(&self) -> Option<&'n str> {
        self.node.get_str("apiVersion")
    }

    /// `kind`, if a scalar.
    pub fn kind(&self) -> Option<&'n str> {
        self.node.get_str("kind")
    }

    /// `metadata.name`, if a scalar.
    pub fn name(&self) -> Option<&'n str> {
        self.node.get("metadata")?.get_str("name")
    }

    /// `metadata.namespace`, if a non-empty scalar.
    pub fn namespace(&self) -> Option<&'n str> {
        self.node.get("metadata")?.get_str("namespace").filter(|namespace| !namespace.is_empty())
    }

    /// The annotation `key`, if present and a scalar.
    pub fn annotation(&self, key: &str) -> Option<&'n str> {
        self.node.get("metadata")?.get("annotations")?.get_str(key)
    }

    /// Every annotation with a scalar value, in source order.
    pub fn annotations(&self) -> impl Iterator<Item = (&'n str, &'n str)> {
        let entries =
            self.node.get("metadata").and_then(|m| m.get("annotations")).and_then(Node::entries).unwrap_or_default();
        entries.iter().filter_map(|entry| Some((entry.key.as_str()?, entry.value.as_str()?)))
    }

    /// The identity kpt reports in `resourceRef`.
    pub fn reference(&self) -> ResourceRef {
        ResourceRef {
            api_version: self.api_version().unwrap_or_default().to_owned(),
            kind: self.kind().unwrap_or_default().to_owned(),
            name: self.name().unwrap_or_default().to_owned(),
            namespace: self.namespace().map(str::to_owned),
        }
    }

    /// Its identity and file, for results.
    pub fn identity(&self) -> ResourceIdentity {
        ResourceIdentity { reference: self.reference(), file: self.file() }
    }

    /// The file the orchestrator read this resource from, if it said.
    pub fn file(&self) -> Option<FileRef> {
        let path = PATH_ANNOTATIONS.iter().find_map(|key| self.annotation(key))?;
        let index = INDEX_ANNOTATIONS.iter().find_map(|key| self.annotation(key)).and_then(|index| index.parse().ok());
        Some(FileRef { path: path.to_owned(), index })
    }

    /// `Kind namespace/name` (or `Kind name`), for messages.
    pub fn describe(&self) -> String {
        let kind = self.kind().unwrap_or("(no kind)");
        let name = self.name().unwrap_or("(no name)");
        match self.namespace() {
            Some(namespace) => format!("{kind} {namespace}/{name}"),
            None => format!("{kind} {name}"),
        }
    }
}
