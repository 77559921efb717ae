//! Lossless YAML: a span-carrying tree over the original bytes, and edits spliced into them.
//!
//! Nothing here re-serialises YAML. [`parse_stream`] builds a read-only [`Node`] tree whose every
//! node knows its byte range in the source; changes are [`Edit`]s that replace one scalar's
//! bytes, so comments, key order, quoting, indentation and flow style outside an edited scalar
//! survive byte for byte.
//!
//! Two scanners feed the tree the same events: a fast one for the YAML that kpt, kustomize and
//! people write (`fast`), and granit-parser for everything else (`granit`), which runs only when
//! the fast one declines. [`parse_list`] reads a ResourceList's items one at a time.

mod edit;
mod event;
mod fast;
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

/// Ten aliases of ten aliases, `levels` deep: 10^levels scalars once expanded (a "billion
/// laughs" document), for the tests that show it costs nothing until expanded, and that
/// expanding it stops.
#[cfg(test)]
fn alias_bomb(levels: usize) -> String {
    let mut source = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..=levels {
        let aliases = vec![format!("*a{}", level - 1); 10].join(", ");
        source.push_str(&format!("a{level}: &a{level} [{aliases}]\n"));
    }
    source
}

/// Compares the fast scanner with granit-parser on `source`: `None` when the fast one declines
/// or both give the same events, else a description of the first difference.
///
/// For tests and fuzzing only.
#[doc(hidden)]
pub fn scanner_difference(source: &str) -> Option<String> {
    fast::compare(source).ok().flatten()
}

/// A scanner [`count_events`] can run.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanner {
    /// The fast scanner for the common subset.
    Fast,
    /// granit-parser.
    Granit,
}

/// Scans `source` with `scanner` and counts the events, comments included: `Err` names where
/// and why the fast scanner declined, or granit-parser's error.
///
/// For benchmarks and tests only.
#[doc(hidden)]
pub fn count_events(source: &str, scanner: Scanner) -> Result<usize, String> {
    let mut count = 0;
    let mut sink = |_: event::Event<'_>, _: event::Span| {
        count += 1;
        Ok(())
    };
    match scanner {
        Scanner::Fast => fast::scan(source, &mut sink).map_err(|declined| declined.to_string())?,
        Scanner::Granit => granit::scan(source, &mut sink).map_err(|error| error.to_string())?,
    }
    Ok(count)
}
