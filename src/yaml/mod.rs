//! Lossless YAML: a span-carrying tree over the original bytes, and edits spliced into them.
//!
//! Nothing here re-serialises YAML. [`parse_stream`] builds a read-only [`Node`] tree whose every
//! node knows its byte range in the source; changes are [`Edit`]s that replace one scalar's
//! bytes, so comments, key order, quoting, indentation and flow style outside an edited scalar
//! survive byte for byte.

mod edit;
mod event;
mod granit;
mod json;
mod path;
mod scalar;
mod tree;

/// How a scalar is written; the type of [`Scalar::style`].
pub use granit_parser::ScalarStyle;

pub use edit::{Edit, Edits};
pub use json::{AliasExpansionError, MAX_ALIAS_NODES, to_json};
pub use path::{FieldPath, ParseFieldPathError, Segment};
pub use scalar::{needs_quotes, render_scalar};
pub use tree::{
    AliasTarget, Comment, Document, Entry, ItemHook, MAX_DEPTH, Node, NodeKind, ParseError, Scalar, Stream, parse_list,
    parse_stream,
};
