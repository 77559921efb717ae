//! The span-carrying YAML tree built from granit-parser's events.

use std::collections::HashMap;
use std::ops::Range;

use granit_parser::{Event, Parser, ScalarStyle, Span};

/// A parsed YAML stream: its documents and every comment, with byte offsets into the source.
#[derive(Debug)]
pub struct Stream {
    /// The documents, in source order.
    pub documents: Vec<Document>,
    /// Every comment of the stream, in source order.
    pub comments: Vec<Comment>,
}

/// One YAML document of a stream.
#[derive(Debug)]
pub struct Document {
    /// The root node; an empty document has a null scalar root.
    pub root: Node,
    /// Whether the document opened with an explicit `---`.
    pub explicit_start: bool,
}

/// A comment: `text` is what follows `#`; `range` covers `#` to the end of the line.
#[derive(Debug, Clone)]
pub struct Comment {
    /// The 1-based line the comment is on.
    pub line: usize,
    /// The byte range of `#...`, without the line break.
    pub range: Range<usize>,
    /// The text after `#`.
    pub text: String,
}

/// A YAML node with the byte range it occupies in the source.
#[derive(Debug, Clone)]
pub struct Node {
    /// Byte range in the source. For a scalar it covers quotes but not a tag or anchor; for a
    /// block scalar it covers the content lines, not the `|`/`>` header.
    pub range: Range<usize>,
    /// 1-based line of the first byte.
    pub line: usize,
    /// 1-based line of the last byte.
    pub end_line: usize,
    /// The node's content.
    pub kind: NodeKind,
}

/// What a node holds.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar with its value after escape processing.
    Scalar(Scalar),
    /// A sequence; `flow` is true for `[...]`.
    Sequence {
        /// The items.
        items: Vec<Node>,
        /// Whether the sequence is written in flow style.
        flow: bool,
    },
    /// A mapping; `flow` is true for `{...}`.
    Mapping {
        /// The entries, in source order.
        entries: Vec<Entry>,
        /// Whether the mapping is written in flow style.
        flow: bool,
    },
    /// An alias (`*name`) with a copy of the node it refers to. Edits never go through aliases.
    Alias(Box<Node>),
}

/// A mapping entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key node.
    pub key: Node,
    /// The value node.
    pub value: Node,
}

/// A scalar's value and presentation.
#[derive(Debug, Clone)]
pub struct Scalar {
    /// The value after escape processing and line folding.
    pub value: String,
    /// How it is written.
    pub style: ScalarStyle,
    /// Whether it carries an explicit tag (`!!str`, `!foo`).
    pub tagged: bool,
}

/// The source is not well-formed YAML.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser found.
    pub message: String,
}

impl Scalar {
    /// The value as a one-line field holds it: a block scalar's final line breaks (which its
    /// chomping indicator adds or strips, and an edit keeps) are not part of it.
    pub fn text(&self) -> &str {
        match self.style {
            ScalarStyle::Literal | ScalarStyle::Folded => self.value.trim_end_matches('\n'),
            _ => &self.value,
        }
    }
}

impl Node {
    /// The scalar, if this node is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The scalar's text (see [`Scalar::text`]), if this node is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(Scalar::text)
    }

    /// The entries, if this node is a mapping.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Mapping { entries, .. } => Some(entries),
            _ => None,
        }
    }

    /// The items, if this node is a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Sequence { items, .. } => Some(items),
            _ => None,
        }
    }

    /// The entry whose key is the scalar `key`, if this node is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|entry| entry.key.as_str() == Some(key))
    }

    /// The value under `key`, if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|entry| &entry.value)
    }

    /// The scalar value under `key`, if present and a scalar.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// Whether this is a plain null scalar (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s)
            if s.style == ScalarStyle::Plain && !s.tagged
                && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// Parses `source` into documents and comments, keeping byte ranges for every node.
///
/// # Errors
/// Returns [`ParseError`] with the line and column where the source stops being YAML.
pub fn parse_stream(source: &str) -> Result<Stream, ParseError> {
    let mut builder = Builder {
        source,
        stack: Vec::new(),
        anchors: HashMap::new(),
        stream: Stream { documents: Vec::new(), comments: Vec::new() },
        explicit_start: false,
    };
    for next in Parser::new_from_str(source) {
        let (event, span) = next.map_err(|error| ParseError {
            line: error.marker().line(),
            column: error.marker().col() + 1,
            message: error.info().to_string(),
        })?;
        builder.event(event, span);
    }
    Ok(builder.stream)
}

enum Open {
    Sequence { start: usize, line: usize, flow: bool, anchor: usize, items: Vec<Node> },
    Mapping { start: usize, line: usize, flow: bool, anchor: usize, entries: Vec<Entry>, key: Option<Node> },
}

struct Builder<'s> {
    source: &'s str,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    stream: Stream,
    explicit_start: bool,
}

fn offset(marker: granit_parser::Marker) -> usize {
    // `Parser::new_from_str` guarantees byte offsets; 0 is only reached if that ever changed,
    // and then edits would be wrong, so the splice engine re-checks every range it touches.
    marker.byte_offset().unwrap_or(0)
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: Span) {
        let start = offset(span.start);
        let end = offset(span.end);
        match event {
            Event::Comment(text, _) => self.stream.comments.push(Comment {
                line: span.start.line(),
                range: start..end,
                text: text.into_owned(),
            }),
            Event::DocumentStart(explicit, _) => self.explicit_start = explicit,
            Event::Scalar(value, style, anchor, tag) => {
                let node = Node {
                    range: start..end,
                    line: span.start.line(),
                    end_line: self.line_of_last_byte(start, end, span.start.line()),
                    kind: NodeKind::Scalar(Scalar { value: value.into_owned(), style, tagged: tag.is_some() }),
                };
                self.remember(anchor, &node);
                self.push(node);
            }
            Event::Alias(id) => {
                let target = self.anchors.get(&id).cloned();
                let kind = match target {
                    Some(target) => NodeKind::Alias(Box::new(target)),
                    None => NodeKind::Scalar(Scalar { value: String::new(), style: ScalarStyle::Plain, tagged: false }),
                };
                self.push(Node { range: start..end, line: span.start.line(), end_line: span.start.line(), kind });
            }
            Event::SequenceStart(style, anchor, _) => self.stack.push(Open::Sequence {
                start,
                line: span.start.line(),
                flow: style == granit_parser::StructureStyle::Flow,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(style, anchor, _) => self.stack.push(Open::Mapping {
                start,
                line: span.start.line(),
                flow: style == granit_parser::StructureStyle::Flow,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    let (start, line, anchor, kind) = match open {
                        Open::Sequence { start, line, flow, anchor, items } => {
                            (start, line, anchor, NodeKind::Sequence { items, flow })
                        }
                        Open::Mapping { start, line, flow, anchor, entries, .. } => {
                            (start, line, anchor, NodeKind::Mapping { entries, flow })
                        }
                    };
                    let end = end.max(start);
                    let node =
                        Node { range: start..end, line, end_line: self.line_of_last_byte(start, end, line), kind };
                    self.remember(anchor, &node);
                    self.push(node);
                }
            }
            Event::DocumentEnd => {}
            _ => {}
        }
    }

    fn line_of_last_byte(&self, start: usize, end: usize, start_line: usize) -> usize {
        let text = self.source.get(start..end).unwrap_or("");
        let text = text.strip_suffix('\n').unwrap_or(text);
        start_line + text.matches('\n').count()
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                self.stream.documents.push(Document { root: node, explicit_start: self.explicit_start });
                self.explicit_start = false;
            }
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(key) => entries.push(Entry { key, value: node }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice<'a>(source: &'a str, node: &Node) -> &'a str {
        &source[node.range.clone()]
    }

    #[test]
    fn ranges_cover_quotes_and_block_content() {
        let source = "a: \"q\" # c\nb:\n  - 'x'\nc: |\n  one\n  two\nd: !!str t\n";
        let stream = parse_stream(source).unwrap();
        let root = &stream.documents[0].root;
        assert_eq!(slice(source, root.get("a").unwrap()), "\"q\"");
        assert_eq!(slice(source, &root.get("b").unwrap().items().unwrap()[0]), "'x'");
        assert_eq!(slice(source, root.get("c").unwrap()), "one\n  two\n");
        assert_eq!(root.get("c").unwrap().end_line, 6);
        assert_eq!(slice(source, root.get("d").unwrap()), "t");
        assert!(root.get("d").unwrap().as_scalar().unwrap().tagged);
        assert_eq!(stream.comments.len(), 1);
        assert_eq!(stream.comments[0].line, 1);
        assert_eq!(&source[stream.comments[0].range.clone()], "# c");
    }

    #[test]
    fn aliases_carry_their_target() {
        let stream = parse_stream("a: &x {k: v}\nb: *x\n").unwrap();
        let b = stream.documents[0].root.get("b").unwrap();
        let NodeKind::Alias(target) = &b.kind else { panic!("not an alias: {b:?}") };
        assert_eq!(target.get_str("k"), Some("v"));
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let stream = parse_stream("a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(stream.documents.len(), 3);
        assert!(stream.documents[1].root.is_null());
        assert!(stream.documents[1].explicit_start);
    }

    #[test]
    fn errors_name_line_and_column() {
        let error = parse_stream("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.line >= 1, "{error}");
        assert!(!error.message.is_empty());
    }
}
