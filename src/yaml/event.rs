//! The events a YAML scanner reports, and where each sits in the source.
//!
//! Two scanners produce them: the fast one for the YAML that kpt, kustomize and people write
//! (`fast.rs`), and granit-parser for everything else (`granit.rs`). The tree builder consumes
//! only these, so both scanners yield the same tree by construction, and a test can compare
//! their event streams directly.

use std::borrow::Cow;

use super::ScalarStyle;

/// Where an event sits: a byte range of the source and the 1-based line of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Byte offset of the first byte.
    pub(crate) start: usize,
    /// Byte offset past the last byte.
    pub(crate) end: usize,
    /// 1-based line of `start`.
    pub(crate) line: usize,
}

/// One step of a scan, in source order. Anchors are numbered from 1 in order of appearance;
/// 0 means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event<'s> {
    /// A document begins; `explicit` when it opens with `---`.
    DocumentStart {
        /// Whether the document opened with `---`.
        explicit: bool,
    },
    /// A document ends.
    DocumentEnd,
    /// A scalar: its value after escapes and folding, how it is written, its anchor, and its
    /// tag resolved (`tag:yaml.org,2002:str` for `!!str`).
    Scalar {
        /// The value.
        value: Cow<'s, str>,
        /// The style.
        style: ScalarStyle,
        /// The anchor id, or 0.
        anchor: usize,
        /// The resolved tag.
        tag: Option<String>,
    },
    /// An alias to the anchor numbered `id`.
    Alias {
        /// The anchor id.
        id: usize,
    },
    /// A sequence begins.
    SequenceStart {
        /// Whether it is written `[...]`.
        flow: bool,
        /// The anchor id, or 0.
        anchor: usize,
    },
    /// The innermost open sequence ends.
    SequenceEnd,
    /// A mapping begins.
    MappingStart {
        /// Whether it is written `{...}`.
        flow: bool,
        /// The anchor id, or 0.
        anchor: usize,
    },
    /// The innermost open mapping ends.
    MappingEnd,
    /// A comment; `text` is what follows `#` on its line, and the span covers `#` to the end of
    /// the line, without the line break.
    Comment {
        /// The text after `#`.
        text: Cow<'s, str>,
    },
}
