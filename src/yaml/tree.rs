//! The span-carrying YAML tree, built from the events of the fast scanner or, for YAML outside
//! its subset, of granit-parser.
//!
//! Hostile input is the norm for a renderer, so the builder bounds what YAML lets a small
//! document ask for. An alias shares its anchored node (an [`Arc`]) instead of copying it, and
//! a collection's children sit behind an `Arc` too, so remembering an anchor costs nothing and a
//! "billion laughs" document costs memory in proportion to its bytes. What an alias would add
//! if expanded is only paid by [`to_json`](super::to_json), which bounds it. The nesting an
//! alias chain reaches is checked here ([`MAX_DEPTH`]), so nothing that walks a tree, drops one
//! or expands it can run out of stack. Duplicate mapping keys are refused, as Kubernetes'
//! decoders refuse them: which value a consumer reads would be anyone's guess.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use super::ScalarStyle;
use super::event::{Event, Span};
use super::{fast, granit};

/// A parsed YAML stream: its documents and every comment, with byte offsets into the source.
#[derive(Debug)]
pub struct Stream<'s> {
    /// The documents, in source order.
    pub documents: Vec<Document<'s>>,
    /// Every comment of the stream, in source order.
    pub comments: Vec<Comment>,
}

/// One YAML document of a stream.
#[derive(Debug)]
pub struct Document<'s> {
    /// The root node; an empty document has a null scalar root.
    pub root: Node<'s>,
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
pub struct Node<'s> {
    /// Byte range in the source. For a scalar it covers quotes but not a tag or anchor; for a
    /// block scalar it covers the content lines, not the `|`/`>` header.
    pub range: Range<usize>,
    /// 1-based line of the first byte.
    pub line: usize,
    /// 1-based line of the last byte.
    pub end_line: usize,
    /// The node's content.
    pub kind: NodeKind<'s>,
}

/// What a node holds.
#[derive(Debug, Clone)]
pub enum NodeKind<'s> {
    /// A scalar with its value after escape processing.
    Scalar(Scalar<'s>),
    /// A sequence; `flow` is true for `[...]`.
    Sequence {
        /// The items (shared with the aliases of an anchored sequence).
        items: Arc<[Node<'s>]>,
        /// Whether the sequence is written in flow style.
        flow: bool,
    },
    /// A mapping; `flow` is true for `{...}`.
    Mapping {
        /// The entries, in source order (shared with the aliases of an anchored mapping).
        entries: Arc<[Entry<'s>]>,
        /// Whether the mapping is written in flow style.
        flow: bool,
    },
    /// An alias (`*name`) and the node it refers to. Edits never go through aliases.
    Alias(AliasTarget<'s>),
}

/// The anchored node an alias refers to, shared with the anchor's own place in the tree.
///
/// Its `Debug` names the alias and where its anchor is, never the node: printing a tree whose
/// aliases nest must not expand them.
#[derive(Clone)]
pub struct AliasTarget<'s> {
    name: String,
    node: Arc<Node<'s>>,
}

impl<'s> AliasTarget<'s> {
    /// The alias's name, without `*`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The anchored node.
    pub fn node(&self) -> &Node<'s> {
        &self.node
    }
}

impl fmt::Debug for AliasTarget<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "*{} (anchored at line {})", self.name, self.node.line)
    }
}

/// A mapping entry.
#[derive(Debug, Clone)]
pub struct Entry<'s> {
    /// The key node.
    pub key: Node<'s>,
    /// The value node.
    pub value: Node<'s>,
}

/// A scalar's value and presentation.
#[derive(Debug, Clone)]
pub struct Scalar<'s> {
    /// The value after escape processing and line folding, borrowed from the source when it
    /// is written there as it is.
    pub value: Cow<'s, str>,
    /// How it is written.
    pub style: ScalarStyle,
    /// Its explicit tag, resolved (`tag:yaml.org,2002:str` for `!!str`, `!foo` for a local
    /// tag); `None` when it has none.
    pub tag: Option<String>,
}

/// The resolved form of `!!str`.
const STR_TAG: &str = "tag:yaml.org,2002:str";
/// The prefix `!!` stands for.
const CORE_PREFIX: &str = "tag:yaml.org,2002:";

/// How deep a tree may nest once its aliases are followed. granit-parser already stops at 255
/// nested flow and 255 nested block collections; only an alias chain can go further.
pub const MAX_DEPTH: usize = 1024;

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

impl Scalar<'_> {
    /// A copy that owns its value, to outlive the source.
    pub fn to_static(&self) -> Scalar<'static> {
        Scalar { value: Cow::Owned(String::from(&*self.value)), style: self.style, tag: self.tag.clone() }
    }

    /// Whether it carries an explicit tag.
    pub fn is_tagged(&self) -> bool {
        self.tag.is_some()
    }

    /// Whether its tag, if any, is `!!str`: the only tags whose value imgpolicy may rewrite.
    pub fn is_str(&self) -> bool {
        self.tag.as_deref().is_none_or(|tag| tag == STR_TAG)
    }

    /// The tag as it would be written: `!!int` for core-schema tags, else as resolved.
    pub fn tag_shorthand(&self) -> Option<String> {
        let tag = self.tag.as_deref()?;
        Some(tag.strip_prefix(CORE_PREFIX).map_or_else(|| tag.to_owned(), |suffix| format!("!!{suffix}")))
    }

    /// The value as a one-line field holds it: a block scalar's final line breaks (which its
    /// chomping indicator adds or strips, and an edit keeps) are not part of it.
    pub fn text(&self) -> &str {
        match self.style {
            ScalarStyle::Literal | ScalarStyle::Folded => self.value.trim_end_matches('\n'),
            _ => &self.value,
        }
    }
}

impl<'s> Node<'s> {
    /// An empty plain scalar at the start of the source.
    fn empty() -> Self {
        let kind = NodeKind::Scalar(Scalar { value: Cow::Borrowed(""), style: ScalarStyle::Plain, tag: None });
        Self { range: 0..0, line: 1, end_line: 1, kind }
    }

    /// The scalar, if this node is one.
    pub fn as_scalar(&self) -> Option<&Scalar<'s>> {
        match &self.kind {
            NodeKind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// Whether this is a scalar whose value a splice of its range can replace. An empty plain
    /// value has no bytes (the parser places it at the key's `:`), and an empty block scalar's
    /// range is its `|`/`>` header, so neither can. A block scalar whose first lines are blank
    /// cannot either: its range starts at the first non-blank line, so the blank lines would
    /// survive the splice and the value would keep its leading line breaks (found by fuzzing).
    pub fn is_replaceable(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar(scalar) => match scalar.style {
                ScalarStyle::Literal | ScalarStyle::Folded => {
                    !scalar.text().is_empty() && !scalar.value.starts_with(['\n', '\r'])
                }
                _ => !self.range.is_empty(),
            },
            _ => false,
        }
    }

    /// The scalar's text (see [`Scalar::text`]), if this node is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(Scalar::text)
    }

    /// The entries, if this node is a mapping.
    pub fn entries(&self) -> Option<&[Entry<'s>]> {
        match &self.kind {
            NodeKind::Mapping { entries, .. } => Some(entries.as_ref()),
            _ => None,
        }
    }

    /// The items, if this node is a sequence.
    pub fn items(&self) -> Option<&[Node<'s>]> {
        match &self.kind {
            NodeKind::Sequence { items, .. } => Some(items.as_ref()),
            _ => None,
        }
    }

    /// The entry whose key is the scalar `key`, if this node is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry<'s>> {
        self.entries()?.iter().find(|entry| entry.key.as_str() == Some(key))
    }

    /// The value under `key`, if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node<'s>> {
        self.entry(key).map(|entry| &entry.value)
    }

    /// The scalar value under `key`, if present and a scalar.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// Whether this is a plain null scalar (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s)
            if s.style == ScalarStyle::Plain && !s.is_tagged()
                && matches!(&*s.value, "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// Parses `source` into documents and comments, keeping byte ranges for every node.
///
/// # Errors
/// Returns [`ParseError`] with the line and column where the source stops being YAML, where a
/// mapping repeats a key, or where an alias makes the tree nest deeper than [`MAX_DEPTH`].
pub fn parse_stream(source: &str) -> Result<Stream<'_>, ParseError> {
    build(source, None)
}

/// Takes the items of a ResourceList out of the tree as they are read (see [`parse_list`]).
pub trait ItemHook<'s> {
    /// Item number `index` is complete, and `comments` holds every comment read so far, which
    /// includes every comment up to the next item (or the end of the list). Returns the node
    /// that stays in the tree in its place.
    fn item(&mut self, index: usize, node: Node<'s>, comments: &[Comment]) -> Node<'s>;
    /// Reading starts over from the first byte: forget every item received so far.
    fn restart(&mut self);
}

/// Parses `source` like [`parse_stream`], handing each item of the first document's top-level
/// `items` sequence to `hook` as soon as it is complete and keeping in the tree only what the
/// hook returns for it: a ResourceList is then held one item at a time, not whole.
///
/// # Errors
/// As [`parse_stream`].
pub fn parse_list<'s>(source: &'s str, hook: &mut dyn ItemHook<'s>) -> Result<Stream<'s>, ParseError> {
    build(source, Some(hook))
}

/// Builds the tree of `source` from the fast scanner's events, or, when it declines (YAML
/// outside its subset, or not YAML at all), from granit-parser's, starting over.
fn build<'s>(source: &'s str, mut hook: Option<&mut dyn ItemHook<'s>>) -> Result<Stream<'s>, ParseError> {
    let mut builder = Builder::new(source, restarted(&mut hook));
    if fast::scan(source, &mut |event, span| builder.event(event, span)).is_ok() {
        builder.flush_item();
        return Ok(builder.stream);
    }
    let mut builder = Builder::new(source, restarted(&mut hook));
    granit::scan(source, &mut |event, span| builder.event(event, span))?;
    builder.flush_item();
    Ok(builder.stream)
}

/// The hook, told that reading starts from the first byte.
fn restarted<'h, 's>(hook: &'h mut Option<&mut dyn ItemHook<'s>>) -> Option<&'h mut dyn ItemHook<'s>> {
    match hook {
        Some(hook) => {
            hook.restart();
            Some(&mut **hook)
        }
        None => None,
    }
}

/// A collection whose end has not been read yet; its children so far are the builder's
/// `children` from `first` on (a mapping's alternate key, value, key, ...).
struct Open {
    start: usize,
    line: usize,
    flow: bool,
    mapping: bool,
    anchor: usize,
    /// How deep it nests once aliases are followed.
    depth: usize,
    first: usize,
}

impl Open {
    /// Raises the depth of what is open to hold a child `child_depth` deep.
    fn hold(&mut self, child_depth: usize) {
        self.depth = self.depth.max(child_depth + 1);
    }
}

struct Builder<'s, 'h> {
    source: &'s str,
    /// Where items of a ResourceList go, with the item read but not yet handed over (it is
    /// handed over when the next one is complete, so that the comments on its last line have
    /// been read), and how many were handed over.
    items: Option<&'h mut dyn ItemHook<'s>>,
    pending: Option<Node<'s>>,
    handed: usize,
    /// A byte offset and its line, for [`Builder::line_at`].
    cursor: (usize, usize),
    stack: Vec<Open>,
    /// The children of every open collection, innermost last: one buffer for all, so a
    /// collection's children are moved once, into their final place, when it ends.
    children: Vec<Node<'s>>,
    /// Anchored nodes by anchor id, with their depth once aliases are followed.
    anchors: HashMap<usize, (Arc<Node<'s>>, usize)>,
    stream: Stream<'s>,
    explicit_start: bool,
}

impl<'s, 'h> Builder<'s, 'h> {
    fn new(source: &'s str, items: Option<&'h mut dyn ItemHook<'s>>) -> Self {
        Builder {
            source,
            items,
            pending: None,
            handed: 0,
            cursor: (0, 1),
            stack: Vec::new(),
            children: Vec::new(),
            anchors: HashMap::new(),
            stream: Stream { documents: Vec::new(), comments: Vec::new() },
            explicit_start: false,
        }
    }

    fn event(&mut self, event: Event<'s>, span: Span) -> Result<(), ParseError> {
        let Span { start, end, line } = span;
        if start > self.cursor.0 {
            self.cursor = (start, line);
        }
        match event {
            Event::Comment { text } => {
                let comment = Comment { line, range: start..end, text: text.into_owned() };
                // granit-parser gives a block scalar's header comment after the scalar; the
                // list stays in source order, which comment lookups rely on.
                let at = self.stream.comments.partition_point(|earlier| earlier.range.start < start);
                self.stream.comments.insert(at, comment);
            }
            Event::DocumentStart { explicit } => self.explicit_start = explicit,
            Event::Scalar { value, style, anchor, tag } => {
                let scalar = Scalar { value, style, tag };
                let node = Node {
                    range: start..end,
                    line,
                    end_line: self.line_of_last_byte(start, end, line),
                    kind: NodeKind::Scalar(scalar),
                };
                self.remember(anchor, &node, 0);
                self.push(node, 0);
            }
            Event::Alias { id } => {
                let (kind, depth) = match self.anchors.get(&id) {
                    Some((target, depth)) => {
                        let name = self.source.get(start..end).unwrap_or("").trim_start_matches('*').to_owned();
                        (NodeKind::Alias(AliasTarget { name, node: Arc::clone(target) }), *depth)
                    }
                    None => {
                        (NodeKind::Scalar(Scalar { value: Cow::Borrowed(""), style: ScalarStyle::Plain, tag: None }), 0)
                    }
                };
                if depth + self.stack.len() > MAX_DEPTH {
                    return Err(self.error(
                        start,
                        line,
                        format!(
                            "the alias `{}` nests the document deeper than {MAX_DEPTH} levels",
                            self.source.get(start..end).unwrap_or("*")
                        ),
                    ));
                }
                self.push(Node { range: start..end, line, end_line: line, kind }, depth);
            }
            Event::SequenceStart { flow, anchor } => {
                let first = self.children.len();
                self.stack.push(Open { start, line, flow, mapping: false, anchor, depth: 0, first })
            }
            Event::MappingStart { flow, anchor } => {
                let first = self.children.len();
                self.stack.push(Open { start, line, flow, mapping: true, anchor, depth: 0, first })
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if self.in_item_list() {
                    self.flush_item();
                }
                if let Some(Open { start, line, flow, mapping, anchor, depth, first }) = self.stack.pop() {
                    let first = first.min(self.children.len());
                    let kind = if mapping {
                        let count = (self.children.len() - first) / 2;
                        let mut children = self.children.drain(first..);
                        // Exact-size, so collected in place: the parser always gives a key its value.
                        let entries: Arc<[Entry]> = (0..count)
                            .map(|_| match (children.next(), children.next()) {
                                (Some(key), Some(value)) => Entry { key, value },
                                _ => Entry { key: Node::empty(), value: Node::empty() },
                            })
                            .collect();
                        drop(children);
                        self.ensure_unique_keys(&entries)?;
                        NodeKind::Mapping { entries, flow }
                    } else {
                        NodeKind::Sequence { items: self.children.drain(first..).collect(), flow }
                    };
                    let end = end.max(start);
                    let node =
                        Node { range: start..end, line, end_line: self.line_of_last_byte(start, end, line), kind };
                    self.remember(anchor, &node, depth);
                    self.push(node, depth);
                }
            }
            Event::DocumentEnd => {}
        }
        Ok(())
    }

    /// The line of the last byte of `start..end` (a line break counts on the line it ends).
    fn line_of_last_byte(&mut self, start: usize, end: usize, start_line: usize) -> usize {
        if end <= start { start_line } else { self.line_at(end - 1) }
    }

    /// The 1-based line of byte `offset`, counted from the cursor, which only moves forward:
    /// events come in source order, so each byte is counted about once, however deep the
    /// collection that ends after it.
    fn line_at(&mut self, offset: usize) -> usize {
        let (at, line) = self.cursor;
        let bytes = self.source.as_bytes();
        let breaks =
            |range: std::ops::Range<usize>| bytes.get(range).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        if offset >= at {
            let line = line + breaks(at..offset);
            self.cursor = (offset, line);
            line
        } else {
            line - breaks(offset..at)
        }
    }

    /// A [`ParseError`] at byte `offset` on `line`.
    fn error(&self, offset: usize, line: usize, message: String) -> ParseError {
        let line_start =
            self.source.get(..offset).and_then(|before| before.rfind('\n')).map_or(0, |newline| newline + 1);
        let column = self.source.get(line_start..offset).map_or(1, |text| text.chars().count() + 1);
        ParseError { line, column, message }
    }

    /// Refuses a mapping that holds one scalar key twice (`a` and `"a"` are the same key).
    fn ensure_unique_keys(&self, entries: &[Entry]) -> Result<(), ParseError> {
        fn key<'a>(entry: &'a Entry<'_>) -> Option<&'a str> {
            match &entry.key.kind {
                NodeKind::Scalar(scalar) if scalar.is_str() => Some(&*scalar.value),
                _ => None,
            }
        }
        // Most mappings are small: a check without allocating comes first.
        if entries.len() <= 16
            && entries.iter().enumerate().all(|(at, entry)| {
                key(entry).is_none_or(|k| entries[..at].iter().all(|earlier| key(earlier) != Some(k)))
            })
        {
            return Ok(());
        }
        let mut keys: Vec<(&str, &Node)> = entries
            .iter()
            .filter_map(|entry| match &entry.key.kind {
                NodeKind::Scalar(scalar) if scalar.is_str() => Some((&*scalar.value, &entry.key)),
                _ => None,
            })
            .collect();
        // Sorting by key, then by position, puts each repeat right after its first use.
        keys.sort_by_key(|(key, node)| (*key, node.range.start));
        match keys.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            Some([(key, first), (_, again)]) => Err(self.error(
                again.range.start,
                again.line,
                format!("duplicate key `{}` (first at line {})", key.escape_debug(), first.line),
            )),
            _ => Ok(()),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node<'s>, depth: usize) {
        if anchor != 0 {
            // Cheap: a collection's children are shared, only a scalar's text is copied.
            self.anchors.insert(anchor, (Arc::new(node.clone()), depth));
        }
    }

    /// Whether the innermost open collection is the first document's top-level `items`
    /// sequence, when items are being handed to a hook.
    fn in_item_list(&self) -> bool {
        self.items.is_some()
            && self.stream.documents.is_empty()
            && matches!(self.stack.as_slice(), [root, list]
                if root.mapping && !list.mapping && (list.first - root.first) % 2 == 1
                    && self.children.get(list.first - 1).and_then(Node::as_str) == Some("items"))
    }

    /// Hands the pending item to the hook and puts what it returns into the `items` sequence.
    fn flush_item(&mut self) {
        let (Some(node), Some(hook)) = (self.pending.take(), self.items.as_deref_mut()) else { return };
        let kept = hook.item(self.handed, node, &self.stream.comments);
        self.handed += 1;
        if !self.stack.is_empty() {
            self.children.push(kept);
        }
    }

    fn push(&mut self, node: Node<'s>, depth: usize) {
        if self.in_item_list() {
            self.flush_item();
            self.pending = Some(node);
            return;
        }
        match self.stack.last_mut() {
            None => {
                self.stream.documents.push(Document { root: node, explicit_start: self.explicit_start });
                self.explicit_start = false;
            }
            Some(open) => {
                open.hold(depth);
                self.children.push(node);
            }
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
        assert_eq!(root.get("d").unwrap().as_scalar().unwrap().tag_shorthand().as_deref(), Some("!!str"));
        assert_eq!(stream.comments.len(), 1);
        assert_eq!(stream.comments[0].line, 1);
        assert_eq!(&source[stream.comments[0].range.clone()], "# c");
    }

    #[test]
    fn aliases_carry_their_target() {
        let stream = parse_stream("a: &x {k: v}\nb: *x\n").unwrap();
        let b = stream.documents[0].root.get("b").unwrap();
        let NodeKind::Alias(target) = &b.kind else { panic!("not an alias: {b:?}") };
        assert_eq!(target.node().get_str("k"), Some("v"));
        assert_eq!(target.name(), "x");
        assert_eq!(format!("{target:?}"), "*x (anchored at line 1)");
    }

    #[test]
    fn empty_values_are_not_replaceable() {
        let stream = parse_stream("a:\nb: >-\n \nc: |\n  x\nd: ''\ne: v\nf: [x]\ng: |\n \n  x\n").unwrap();
        let root = &stream.documents[0].root;
        let replaceable: Vec<bool> =
            ["a", "b", "c", "d", "e", "f", "g"].iter().map(|k| root.get(k).unwrap().is_replaceable()).collect();
        assert_eq!(replaceable, [false, false, true, true, true, false, false]);
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

    #[test]
    fn alias_bombs_parse_in_linear_time() {
        // 10^30 scalars if expanded; parsing shares instead of copying: every alias of a level
        // holds the very items of the level below, not a copy of them.
        let source = super::super::alias_bomb(30);
        let stream = parse_stream(&source).unwrap();
        let levels = stream.documents[0].root.entries().unwrap();
        assert_eq!(levels.len(), 31);
        for pair in levels.windows(2) {
            let NodeKind::Sequence { items: below, .. } = &pair[0].value.kind else { panic!("a sequence") };
            for alias in pair[1].value.items().unwrap() {
                let NodeKind::Alias(target) = &alias.kind else { panic!("an alias: {alias:?}") };
                let NodeKind::Sequence { items, .. } = &target.node().kind else { panic!("a sequence") };
                assert!(Arc::ptr_eq(items, below));
            }
        }
    }

    #[test]
    fn alias_chains_cannot_nest_past_the_limit() {
        let mut source = String::from("a0: &a0 x\n");
        for level in 1..=MAX_DEPTH + 1 {
            source.push_str(&format!("a{level}: &a{level} [*a{}]\n", level - 1));
        }
        let error = parse_stream(&source).unwrap_err();
        assert_eq!(error.line, MAX_DEPTH + 1);
        assert_eq!(error.column, 16);
        assert_eq!(error.message, "the alias `*a1023` nests the document deeper than 1024 levels");
    }

    /// Records what [`parse_list`] hands over, keeping nothing of the items.
    #[derive(Default)]
    struct Recorder {
        /// Index, first key, and the comments seen when the item was handed over.
        items: Vec<(usize, String, Vec<String>)>,
        restarts: usize,
    }

    impl<'s> ItemHook<'s> for Recorder {
        fn item(&mut self, index: usize, node: Node<'s>, comments: &[Comment]) -> Node<'s> {
            let first = node.entries().and_then(|e| e.first()?.key.as_str()).unwrap_or("").to_owned();
            self.items.push((index, first, comments.iter().map(|c| c.text.trim().to_owned()).collect()));
            Node {
                kind: NodeKind::Scalar(Scalar { value: "gone".into(), style: ScalarStyle::Plain, tag: None }),
                ..node
            }
        }

        fn restart(&mut self) {
            self.items.clear();
            self.restarts += 1;
        }
    }

    #[test]
    fn items_are_handed_over_with_the_comments_of_their_last_line() {
        let source = "kind: ResourceList\nitems:\n- a: 1 # one\n- b: 2\n  c: 3 # three\n- [x] # four\nother:\n  items:\n  - d: 4\n";
        let mut recorder = Recorder::default();
        let stream = parse_list(source, &mut recorder).unwrap();
        assert_eq!(recorder.restarts, 1);
        assert_eq!(
            recorder.items,
            [
                // Handed over when the next item is complete: every comment of its lines is in.
                (0, "a".to_owned(), vec!["one".to_owned(), "three".to_owned()]),
                (1, "b".to_owned(), vec!["one".to_owned(), "three".to_owned()]),
                (2, String::new(), vec!["one".to_owned(), "three".to_owned(), "four".to_owned()]),
            ]
        );
        // What the hook returned stands in for each item; nested `items` are not the list's.
        let root = &stream.documents[0].root;
        let items = root.get("items").unwrap().items().unwrap();
        assert_eq!(items.iter().map(|item| item.as_str().unwrap()).collect::<Vec<_>>(), ["gone"; 3]);
        assert!(source[items[1].range.clone()].starts_with("b: 2\n  c: 3 # three\n"));
        assert!(root.get("other").unwrap().get("items").unwrap().items().unwrap()[0].get("d").is_some());

        // An anchor is outside the fast scanner's subset: it declines at the end, the hook is
        // told to start over, and granit-parser's reading hands over the same items.
        let mut declined = Recorder::default();
        let with_anchor = format!("{source}last: &anchor x\n");
        parse_list(&with_anchor, &mut declined).unwrap();
        assert_eq!(declined.restarts, 2);
        assert_eq!(declined.items, recorder.items);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let error = parse_stream("a: 1\nb:\n  c: 1\n  'c': 2\n").unwrap_err();
        assert_eq!((error.line, error.column), (4, 3));
        assert_eq!(error.message, "duplicate key `c` (first at line 3)");
        let error = parse_stream("{x: 1, y: 2, x: 3}").unwrap_err();
        assert_eq!((error.line, error.column, error.message.as_str()), (1, 14, "duplicate key `x` (first at line 1)"));
        // Same text, different keys: a tagged non-string, or a complex key, is not compared.
        assert!(parse_stream("1: a\n!!int 1: b\n? [k]\n: c\n? [k]\n: d\n").is_ok());
        // Same key in different mappings or documents is fine.
        assert!(parse_stream("a: {k: 1}\nb: {k: 2}\n---\na: 1\n").is_ok());
    }
}
