//! The fast scanner: the YAML that kpt, kustomize and people write, at memory speed.
//!
//! It understands a subset: block mappings and sequences indented with spaces (with kyaml's
//! `key:` followed by `- item` at the same indentation, and compact `- key: value` entries),
//! one-line plain and quoted scalars, literal and folded block scalars, one-line flow
//! collections, comments, empty values, and `---` between documents. On anything else, and on
//! anything invalid, it declines instead of guessing: the caller then scans the source again
//! with granit-parser ([`super::granit`]), which handles all of YAML and words the errors.
//!
//! Whatever it accepts, it reports exactly as granit-parser does, spans included: the tree, its
//! byte ranges and so every splice are the same whichever scanner ran. granit places the
//! zero-width events of block collections where its token stream puts them, which this module
//! reproduces: a block collection starts at its first token (an indentless sequence at the
//! token after its first `-`); it ends, like a document, at the next token less indented, after
//! comments and blank lines, or at the end of the source; an empty value sits at its key's `:`.
//! The differential tests (below, and the `scan` fuzz target) hold the two scanners together.

use std::borrow::Cow;
use std::fmt;

use super::ScalarStyle;
use super::event::{Event, Span};
use super::tree::ParseError;

/// Collections nested deeper than this decline: granit-parser stops at 255 of either kind, and
/// whether a source is past that is its call.
const MAX_NESTING: usize = 200;

/// Keys whose `:` is further than this from their start decline, in block and flow context:
/// granit-parser stops taking a scalar for a key 1024 characters after its start.
const MAX_KEY_BYTES: usize = 1000;

/// More comments than this between `key:` and what follows decline: granit-parser buffers them
/// while it decides whether the value is empty, and refuses more than 96.
const MAX_PENDING_COMMENTS: usize = 90;

/// What granit-parser reports as the value of an empty plain scalar.
const EMPTY: &str = "~";

/// Why the fast scanner gave up on a source; the caller scans it again with granit-parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declined {
    /// Byte offset where it gave up.
    pub(crate) offset: usize,
    /// What it found there.
    pub(crate) reason: &'static str,
}

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "declined at byte {}: {}", self.offset, self.reason)
    }
}

/// Scans `source`, handing every event to `sink` in order, as [`super::granit::scan`] would.
///
/// Comments come in source order, each before any other event that follows it in the source.
///
/// # Errors
/// [`Declined`] when the source is outside the subset this scanner knows, is not valid YAML, or
/// `sink` fails; events already given are then to be discarded.
pub(crate) fn scan<'s>(
    source: &'s str,
    sink: &mut impl FnMut(Event<'s>, Span) -> Result<(), ParseError>,
) -> Result<(), Declined> {
    Scanner {
        source,
        bytes: source.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        stack: Vec::new(),
        sink,
        document: Document::None,
        pending: None,
        text: String::new(),
    }
    .run()
}

// The loops over scalar and comment text look at eight bytes at a time ("SIMD within a
// register"): each `*_stops` function sets the high bit of the bytes of a little-endian word
// where the loop must stop. Bytes after the first such byte may be set too (a borrow carries
// over), which does not matter: only the first is used.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `word` equal to `byte`.
#[inline(always)]
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let diff = word ^ (ONES * u64::from(byte));
    diff.wrapping_sub(ONES) & !diff & HIGHS
}

/// The bytes of `word` that are C0 controls (tab and line breaks included), DEL, or part of a
/// non-ASCII character: every stop of every loop.
#[inline(always)]
fn special_bytes(word: u64) -> u64 {
    (((word.wrapping_sub(ONES * 0x20) & !word) | word) & HIGHS) | bytes_equal(word, 0x7F)
}

#[inline(always)]
fn plain_stops(word: u64) -> u64 {
    special_bytes(word) | bytes_equal(word, b':') | bytes_equal(word, b'#')
}

#[inline(always)]
fn flow_plain_stops(word: u64) -> u64 {
    // `[` and `{`, `]` and `}` differ only in bit 5.
    let folded = word | (ONES * 0x20);
    plain_stops(word) | bytes_equal(word, b',') | bytes_equal(folded, b'{') | bytes_equal(folded, b'}')
}

#[inline(always)]
fn single_quoted_stops(word: u64) -> u64 {
    special_bytes(word) | bytes_equal(word, b'\'')
}

#[inline(always)]
fn double_quoted_stops(word: u64) -> u64 {
    special_bytes(word) | bytes_equal(word, b'"') | bytes_equal(word, b'\\')
}

/// The offset of the first byte from `at` where `stops` stops, or the length of `bytes`.
#[inline(always)]
fn find(bytes: &[u8], mut at: usize, stops: impl Fn(u64) -> u64) -> usize {
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let found = stops(u64::from_le_bytes(*chunk));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    // Fewer than eight bytes left: pad with NULs, where every loop stops.
    let mut tail = [0u8; 8];
    for (padded, byte) in tail.iter_mut().zip(bytes.get(at..).unwrap_or_default()) {
        *padded = *byte;
    }
    (at + (stops(u64::from_le_bytes(tail)).trailing_zeros() / 8) as usize).min(bytes.len().max(at))
}

/// An open collection: its kind and, for a block one, the column of its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Mapping(usize),
    Sequence(usize),
    /// A sequence whose `-` sit at the column of its parent mapping's keys (kyaml's style).
    Indentless(usize),
    FlowMapping,
    FlowSequence,
}

impl Frame {
    /// The column of a block collection's entries; flow collections are on one line.
    fn indent(self) -> Option<usize> {
        match self {
            Frame::Mapping(indent) | Frame::Sequence(indent) | Frame::Indentless(indent) => Some(indent),
            Frame::FlowMapping | Frame::FlowSequence => None,
        }
    }

    fn end(self) -> Event<'static> {
        match self {
            Frame::Mapping(_) | Frame::FlowMapping => Event::MappingEnd,
            Frame::Sequence(_) | Frame::Indentless(_) | Frame::FlowSequence => Event::SequenceEnd,
        }
    }
}

/// Where the stream is between documents.
#[derive(Debug, Clone, Copy)]
enum Document {
    /// No document open.
    None,
    /// `---` seen, no content yet: the offset after `---` and its line.
    Empty(usize, usize),
    /// A document with content is open.
    Open,
}

/// A `key:` with nothing after it on its line: its value is empty, or a collection below.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Offset of the `:`, where an empty value sits.
    colon: usize,
    line: usize,
    /// The column of the mapping's keys.
    indent: usize,
    /// Comments seen since.
    comments: usize,
}

/// A one-line scalar found by [`Scanner::plain`] or [`Scanner::quoted`]. Small and `Copy`: the
/// value is the source text inside the span (without the quotes), unless escaped.
#[derive(Debug, Clone, Copy)]
struct Scalar {
    style: ScalarStyle,
    /// Whether the value is not the source text (escapes, `''`) but [`Scanner::text`].
    escaped: bool,
    start: usize,
    /// Past the scalar's last byte (a quote, or the last non-space of a plain scalar).
    end: usize,
    /// The offset of the `:` after it when the scalar is a key.
    colon: Option<usize>,
}

/// What starts at a position in block context.
#[derive(Debug, Clone, Copy)]
enum Token {
    /// `-` before a space, a line break or the end of the source: a sequence entry.
    Dash,
    /// A scalar, a key when followed by `:`.
    Scalar(Scalar),
    /// `{` or `[`.
    Flow,
    /// `|` or `>`.
    Block,
}

impl Token {
    /// Whether it opens a block collection: a `-`, or a key.
    fn opens_collection(self) -> bool {
        match self {
            Token::Dash => true,
            Token::Scalar(scalar) => scalar.colon.is_some(),
            Token::Flow | Token::Block => false,
        }
    }
}

struct Scanner<'s, 'k, F> {
    source: &'s str,
    bytes: &'s [u8],
    /// Where scanning resumes.
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
    /// Offset of the first byte of `line`.
    line_start: usize,
    stack: Vec<Frame>,
    sink: &'k mut F,
    document: Document,
    pending: Option<Pending>,
    /// The value of the last escaped scalar scanned, until it is emitted.
    text: String,
}

impl<'s, F: FnMut(Event<'s>, Span) -> Result<(), ParseError>> Scanner<'s, '_, F> {
    fn run(mut self) -> Result<(), Declined> {
        if self.source.starts_with('\u{feff}') {
            return Err(self.decline(0, "a byte order mark"));
        }
        loop {
            let pos = self.skip_spaces(self.pos);
            match self.at(pos) {
                None => {
                    self.pos = pos;
                    return self.end_document(pos);
                }
                Some(b'\n') => self.next_line(pos + 1),
                Some(b'#') => {
                    if let Some(pending) = &mut self.pending {
                        pending.comments += 1;
                        if pending.comments > MAX_PENDING_COMMENTS {
                            return Err(self.decline(pos, "many comments after a key"));
                        }
                    }
                    let end = self.comment(pos)?;
                    self.end_line(end)?;
                }
                Some(_) => self.line_content(pos)?,
            }
        }
    }

    /// The first token of a line, at `pos`.
    fn line_content(&mut self, pos: usize) -> Result<(), Declined> {
        let col = pos - self.line_start;
        if col == 0 && self.is_marker(pos, b'-') {
            return self.document_start(pos);
        }
        if col == 0 && self.is_marker(pos, b'.') {
            return Err(self.decline(pos, "a document marker"));
        }
        match self.document {
            Document::None => {
                self.emit(Event::DocumentStart { explicit: false }, pos, pos, self.line)?;
                self.document = Document::Open;
            }
            Document::Empty(..) => self.document = Document::Open,
            Document::Open => {}
        }
        let token = self.token(pos)?;
        if self.stack.is_empty() {
            if col != 0 {
                return Err(self.decline(pos, "an indented document"));
            }
            return self.new_collection(pos, col, token);
        }
        if let Some(pending) = self.pending.take() {
            if col > pending.indent {
                return self.new_collection(pos, col, token);
            }
            if col == pending.indent && matches!(token, Token::Dash) {
                self.push(Frame::Indentless(col), pos)?;
                return self.entry(pos, true);
            }
            self.emit_empty(pending.colon, pending.line)?;
        }
        self.close_deeper(col, pos, matches!(token, Token::Dash))?;
        match (self.stack.last(), token) {
            (Some(Frame::Mapping(indent)), Token::Scalar(key)) if *indent == col && key.colon.is_some() => {
                self.key(key, col)
            }
            (Some(Frame::Sequence(indent) | Frame::Indentless(indent)), Token::Dash) if *indent == col => {
                self.entry(pos, false)
            }
            _ => Err(self.decline(pos, "a line that continues no collection")),
        }
    }

    /// A block collection whose first token, `token`, is at `pos` (column `col`).
    fn new_collection(&mut self, pos: usize, col: usize, token: Token) -> Result<(), Declined> {
        match token {
            Token::Dash => {
                self.push(Frame::Sequence(col), pos)?;
                self.emit(Event::SequenceStart { flow: false, anchor: 0 }, pos, pos, self.line)?;
                self.entry(pos, false)
            }
            Token::Scalar(key) if key.colon.is_some() => {
                self.push(Frame::Mapping(col), pos)?;
                self.emit(Event::MappingStart { flow: false, anchor: 0 }, pos, pos, self.line)?;
                self.key(key, col)
            }
            _ => Err(self.decline(pos, "a value on the line after its key")),
        }
    }

    /// A sequence entry whose `-` is at `dash`; `indentless` when it opens a sequence whose
    /// start granit places at the entry's first token.
    fn entry(&mut self, dash: usize, indentless: bool) -> Result<(), Declined> {
        let pos = self.skip_spaces(dash + 1);
        if matches!(self.at(pos), None | Some(b'\n' | b'#')) {
            return Err(self.decline(pos, "an entry with its value on a later line"));
        }
        if indentless {
            self.emit(Event::SequenceStart { flow: false, anchor: 0 }, pos, pos, self.line)?;
        }
        let token = self.token(pos)?;
        if token.opens_collection() {
            self.new_collection(pos, pos - self.line_start, token)
        } else {
            self.value(pos, token)
        }
    }

    /// A key and what follows it on its line; the mapping's keys are at column `indent`.
    fn key(&mut self, key: Scalar, indent: usize) -> Result<(), Declined> {
        let colon = self.key_colon(key)?;
        self.emit_scalar(key)?;
        let pos = self.skip_spaces(colon + 1);
        if let None | Some(b'\n' | b'#') = self.at(pos) {
            // Nothing on the line but maybe a comment, which the main loop counts as pending.
            self.pending = Some(Pending { colon, line: self.line, indent, comments: 0 });
            self.pos = pos;
            return Ok(());
        }
        let token = self.token(pos)?;
        self.value(pos, token)
    }

    /// The offset of the `:` after `key`, in block or flow context; declines when `key` is not
    /// one, or is too long for granit-parser to take it for one.
    fn key_colon(&self, key: Scalar) -> Result<usize, Declined> {
        match key.colon {
            Some(colon) if colon - key.start <= MAX_KEY_BYTES => Ok(colon),
            Some(_) => Err(self.decline(key.start, "a long key")),
            None => Err(self.decline(key.start, "a scalar where a key belongs")),
        }
    }

    /// A value on the line of its key or `-`, and the rest of that line.
    fn value(&mut self, pos: usize, token: Token) -> Result<(), Declined> {
        match token {
            Token::Scalar(scalar) if scalar.colon.is_none() => {
                let end = scalar.end;
                self.emit_scalar(scalar)?;
                self.rest_of_line(end, "more on the line after a value")
            }
            Token::Flow => {
                let end = self.flow(pos)?;
                self.rest_of_line(end, "more on the line after a value")
            }
            Token::Block => {
                let parent = self.stack.last().and_then(|frame| frame.indent()).unwrap_or(0);
                self.block_scalar(pos, parent)
            }
            _ => Err(self.decline(pos, "a collection on the line of its key")),
        }
    }

    /// What starts at `pos` in block context.
    #[inline(always)]
    fn token(&mut self, pos: usize) -> Result<Token, Declined> {
        let next = self.at(pos + 1);
        Ok(match self.at(pos) {
            Some(b'-') if matches!(next, None | Some(b' ' | b'\n')) => Token::Dash,
            Some(b'{' | b'[') => Token::Flow,
            Some(b'|' | b'>') => Token::Block,
            Some(b'\'' | b'"') => Token::Scalar(self.quoted(pos, false)?),
            _ if self.starts_plain(pos) => Token::Scalar(self.plain(pos, false)?),
            _ => return Err(self.decline(pos, "an indicator")),
        })
    }

    /// Whether a plain scalar starts at `pos`: not at an indicator, a space or a line break,
    /// except for `-` before a safe character (`-1`, `--x`). The same in block and flow context.
    #[inline(always)]
    fn starts_plain(&self, pos: usize) -> bool {
        match self.at(pos) {
            Some(b'-') => is_plain_safe(self.at(pos + 1)),
            Some(byte) => !is_indicator(byte) && !matches!(byte, b' ' | b'\n'),
            None => false,
        }
    }

    /// A plain scalar starting at `pos` (see [`Scanner::starts_plain`]), ending at a line break, a comment,
    /// `: ` (then a key) and, in flow context, a flow indicator.
    #[inline(always)]
    fn plain(&self, pos: usize, flow: bool) -> Result<Scalar, Declined> {
        let mut at = pos;
        let mut colon = None;
        loop {
            at = if flow { find(self.bytes, at, flow_plain_stops) } else { find(self.bytes, at, plain_stops) };
            match self.at(at) {
                None | Some(b'\n') => break,
                Some(b':') => match self.at(at + 1) {
                    None | Some(b' ' | b'\n') => {
                        colon = Some(at);
                        break;
                    }
                    Some(byte) if flow && is_flow_indicator(byte) => {
                        return Err(self.decline(at, "a colon before a flow indicator"));
                    }
                    _ => at += 1,
                },
                Some(b'#') => {
                    if self.bytes.get(at.wrapping_sub(1)) == Some(&b' ') {
                        break;
                    }
                    at += 1;
                }
                Some(byte) if is_flow_indicator(byte) => break,
                Some(byte) if byte >= 0x80 => at = self.character(at)?,
                Some(_) => return Err(self.decline(at, "a control character or tab in a plain scalar")),
            }
        }
        let mut end = at;
        while end > pos && self.bytes.get(end - 1) == Some(&b' ') {
            end -= 1;
        }
        Ok(Scalar { style: ScalarStyle::Plain, escaped: false, start: pos, end, colon })
    }

    /// A quoted scalar whose opening quote is at `pos`, on one line; a key when `:` and a space
    /// or line break follow (in flow context, a space only).
    #[inline(always)]
    fn quoted(&mut self, pos: usize, flow: bool) -> Result<Scalar, Declined> {
        let double = self.at(pos) == Some(b'"');
        let style = if double { ScalarStyle::DoubleQuoted } else { ScalarStyle::SingleQuoted };
        let first = pos + 1;
        let mut at = first;
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        let mut escaped = false;
        let mut copied = first;
        let end = loop {
            at = if double {
                find(self.bytes, at, double_quoted_stops)
            } else {
                find(self.bytes, at, single_quoted_stops)
            };
            match self.at(at) {
                None | Some(b'\n') => return Err(self.decline(pos, "a quoted scalar over several lines")),
                Some(b'\t') => at += 1,
                Some(b'\'') if !double => {
                    if self.at(at + 1) != Some(b'\'') {
                        break at;
                    }
                    escaped = true;
                    text.push_str(self.slice(copied, at + 1)?);
                    at += 2;
                    copied = at;
                }
                Some(b'"') => break at,
                Some(b'\\') => {
                    escaped = true;
                    text.push_str(self.slice(copied, at)?);
                    at = self.escape(at, &mut text)?;
                    copied = at;
                }
                Some(byte) if byte >= 0x80 => at = self.character(at)?,
                Some(_) => return Err(self.decline(at, "a control character in a quoted scalar")),
            }
        };
        if escaped {
            text.push_str(self.slice(copied, end)?);
        }
        self.text = text;
        let end = end + 1;
        let after = self.skip_spaces(end);
        let colon = match (self.at(after), self.at(after + 1)) {
            (Some(b':'), Some(b' ')) => Some(after),
            (Some(b':'), None | Some(b'\n')) if !flow => Some(after),
            (Some(b':'), _) => return Err(self.decline(after, "a colon after a quoted scalar")),
            _ => None,
        };
        Ok(Scalar { style, escaped, start: pos, end, colon })
    }

    /// The escape sequence at `at` (a backslash) in a double-quoted scalar, appended to `text`;
    /// returns the offset past it.
    fn escape(&self, at: usize, text: &mut String) -> Result<usize, Declined> {
        let digits = match self.at(at + 1) {
            Some(b'x') => 2,
            Some(b'u') => 4,
            Some(b'U') => 8,
            next => {
                let character = next.and_then(simple_escape).ok_or_else(|| self.decline(at, "an unknown escape"))?;
                text.push(character);
                return Ok(at + 2);
            }
        };
        text.push(self.hex(at + 2, digits)?);
        Ok(at + 2 + digits)
    }

    /// The character whose code is the `digits` hex digits at `at`.
    fn hex(&self, at: usize, digits: usize) -> Result<char, Declined> {
        let code = self.bytes.get(at..at + digits).and_then(|hex| {
            hex.iter().try_fold(0, |code: u32, &digit| Some(code << 4 | char::from(digit).to_digit(16)?))
        });
        code.and_then(char::from_u32).ok_or_else(|| self.decline(at, "an escape that is not a character"))
    }

    /// A flow collection opening at `open`, on one line; returns the offset past its end.
    fn flow(&mut self, open: usize) -> Result<usize, Declined> {
        /// What may come next in the innermost flow collection.
        enum Next {
            /// An entry, or the end of an empty collection.
            First,
            /// An entry (after a comma).
            Entry,
            /// A value: a flow mapping's, after its key's `:`, or the collection at `open`.
            Value,
            /// A comma or the end.
            Separator,
        }
        let base = self.stack.len();
        let mut next = Next::Value;
        let mut pos = open;
        loop {
            let byte = self.at(pos);
            let top = self.stack.get(base..).and_then(<[Frame]>::last).copied();
            match (byte, &next, top) {
                (Some(b'{' | b'['), Next::Value, _)
                | (Some(b'{' | b'['), Next::First | Next::Entry, Some(Frame::FlowSequence)) => {
                    let (frame, event) = if byte == Some(b'{') {
                        (Frame::FlowMapping, Event::MappingStart { flow: true, anchor: 0 })
                    } else {
                        (Frame::FlowSequence, Event::SequenceStart { flow: true, anchor: 0 })
                    };
                    self.push(frame, pos)?;
                    self.emit(event, pos, pos + 1, self.line)?;
                    next = Next::First;
                    pos += 1;
                }
                (Some(b'}'), Next::First | Next::Separator, Some(Frame::FlowMapping))
                | (Some(b']'), Next::First | Next::Separator, Some(Frame::FlowSequence)) => {
                    self.stack.pop();
                    let event = if byte == Some(b'}') { Event::MappingEnd } else { Event::SequenceEnd };
                    self.emit(event, pos, pos + 1, self.line)?;
                    pos += 1;
                    if self.stack.len() == base {
                        return Ok(pos);
                    }
                    next = Next::Separator;
                }
                (Some(b','), Next::Separator, _) => {
                    next = Next::Entry;
                    pos += 1;
                }
                (Some(_), Next::First | Next::Entry, Some(Frame::FlowMapping)) => {
                    let key = self.flow_scalar(pos)?;
                    let colon = self.key_colon(key)?;
                    self.emit_scalar(key)?;
                    next = Next::Value;
                    pos = colon + 1;
                }
                (Some(_), Next::Value, Some(Frame::FlowMapping))
                | (Some(_), Next::First | Next::Entry, Some(Frame::FlowSequence)) => {
                    let scalar = self.flow_scalar(pos)?;
                    if scalar.colon.is_some() {
                        return Err(self.decline(pos, "a pair where a flow value belongs"));
                    }
                    pos = scalar.end;
                    self.emit_scalar(scalar)?;
                    next = Next::Separator;
                }
                _ => return Err(self.decline(pos, "an unexpected character in a flow collection")),
            }
            pos = self.skip_spaces(pos);
        }
    }

    /// A scalar in a flow collection.
    #[inline(always)]
    fn flow_scalar(&mut self, pos: usize) -> Result<Scalar, Declined> {
        match self.at(pos) {
            Some(b'\'' | b'"') => self.quoted(pos, true),
            _ if self.starts_plain(pos) => self.plain(pos, true),
            _ => Err(self.decline(pos, "an unexpected character in a flow collection")),
        }
    }

    /// A literal or folded block scalar whose `|` or `>` is at `header`, in a collection whose
    /// entries are at column `parent`. A port of granit-parser's `scan_block_scalar` for the
    /// headers without an indentation indicator and with at least one content line.
    fn block_scalar(&mut self, header: usize, parent: usize) -> Result<(), Declined> {
        #[derive(PartialEq)]
        enum Chomping {
            Strip,
            Clip,
            Keep,
        }
        let literal = self.at(header) == Some(b'|');
        let (chomping, after) = match self.at(header + 1) {
            Some(b'-') => (Chomping::Strip, header + 2),
            Some(b'+') => (Chomping::Keep, header + 2),
            _ => (Chomping::Clip, header + 1),
        };
        // At the end of the source, the scalar is empty: declined below.
        self.rest_of_line(after, "a block scalar header this scanner does not know")?;
        let mut pos = self.pos;

        // The indentation is the first content line's, or the parent's plus one.
        let mut breaks = 0;
        let mut max_indent = 0;
        loop {
            pos = self.skip_spaces(pos);
            max_indent = max_indent.max(pos - self.line_start);
            if self.at(pos) != Some(b'\n') {
                break;
            }
            self.next_line(pos + 1);
            pos = self.pos;
            breaks += 1;
        }
        let indent = max_indent.max(parent + 1);
        if self.at(pos).is_none() || pos - self.line_start != indent {
            return Err(self.decline(pos, "an empty block scalar"));
        }

        let (start, line) = (pos, self.line);
        let mut value = String::new();
        let mut leading_break = false;
        let mut leading_blank = false;
        let mut trailing_breaks = breaks;
        loop {
            if self.at(pos) == Some(b'\t') {
                return Err(self.decline(pos, "a tab in a block scalar's indentation"));
            }
            let trailing_blank = self.at(pos) == Some(b' ');
            if !literal && leading_break && !leading_blank && !trailing_blank {
                push_breaks(&mut value, trailing_breaks);
                if trailing_breaks == 0 {
                    value.push(' ');
                }
            } else {
                if leading_break {
                    value.push('\n');
                }
                push_breaks(&mut value, trailing_breaks);
            }
            leading_break = false;
            trailing_breaks = 0;
            leading_blank = trailing_blank;

            let end = self.line_text(pos)?;
            value.push_str(self.slice(pos, end)?);
            pos = end;
            if self.at(pos).is_none() {
                break;
            }
            self.next_line(pos + 1);
            pos = self.pos;
            leading_break = true;

            loop {
                while pos - self.line_start < indent && self.at(pos) == Some(b' ') {
                    pos += 1;
                }
                if self.at(pos) != Some(b'\n') {
                    break;
                }
                self.next_line(pos + 1);
                pos = self.pos;
                trailing_breaks += 1;
            }
            if pos - self.line_start != indent || self.at(pos).is_none() {
                break;
            }
        }
        if chomping != Chomping::Strip {
            if !leading_break && self.at(pos).is_none() && pos - self.line_start >= indent.max(1) {
                value.push('\n');
            }
            if leading_break {
                value.push('\n');
            }
        }
        if chomping == Chomping::Keep {
            push_breaks(&mut value, trailing_breaks);
        }
        let style = if literal { ScalarStyle::Literal } else { ScalarStyle::Folded };
        self.emit(Event::Scalar { value: Cow::Owned(value), style, anchor: 0, tag: None }, start, pos, line)?;
        self.pos = pos;
        Ok(())
    }

    /// `---` at `pos`, at the start of a line: the document before it ends, a new one starts.
    fn document_start(&mut self, pos: usize) -> Result<(), Declined> {
        self.end_document(pos)?;
        self.emit(Event::DocumentStart { explicit: true }, pos, pos + 3, self.line)?;
        self.document = Document::Empty(pos + 3, self.line);
        self.rest_of_line(pos + 3, "content on the line of `---`")
    }

    /// Ends the open document, if any, at `pos` (the next `---`, or the end of the source).
    fn end_document(&mut self, pos: usize) -> Result<(), Declined> {
        match self.document {
            Document::None => {}
            Document::Empty(end, line) => {
                self.emit_empty(end, line)?;
                self.emit(Event::DocumentEnd, end, end, line)?;
            }
            Document::Open => {
                if let Some(pending) = self.pending.take() {
                    self.emit_empty(pending.colon, pending.line)?;
                }
                while let Some(frame) = self.stack.pop() {
                    self.emit(frame.end(), pos, pos, self.line)?;
                }
                self.emit(Event::DocumentEnd, pos, pos, self.line)?;
            }
        }
        self.document = Document::None;
        Ok(())
    }

    /// Closes the block collections deeper than column `col`, where the token at `pos` is; and
    /// an indentless sequence at `col` unless that token is a `-`.
    fn close_deeper(&mut self, col: usize, pos: usize, dash: bool) -> Result<(), Declined> {
        while let Some(&frame) = self.stack.last() {
            let close = match frame {
                Frame::Mapping(indent) | Frame::Sequence(indent) => indent > col,
                Frame::Indentless(indent) => indent > col || (indent == col && !dash),
                Frame::FlowMapping | Frame::FlowSequence => false,
            };
            if !close {
                break;
            }
            self.stack.pop();
            self.emit(frame.end(), pos, pos, self.line)?;
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, pos: usize) -> Result<(), Declined> {
        if self.stack.len() >= MAX_NESTING {
            return Err(self.decline(pos, "deep nesting"));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// The comment whose `#` is at `hash`; returns the offset of its end.
    fn comment(&mut self, hash: usize) -> Result<usize, Declined> {
        let end = self.line_text(hash + 1)?;
        let text = self.slice(hash + 1, end)?;
        self.emit(Event::Comment { text: Cow::Borrowed(text) }, hash, end, self.line)?;
        Ok(end)
    }

    /// After a value, a block scalar header or `---` at `pos`: spaces, maybe a comment, then the
    /// end of the line; declines with `reason` on anything else.
    fn rest_of_line(&mut self, pos: usize, reason: &'static str) -> Result<(), Declined> {
        let after = self.skip_spaces(pos);
        match self.at(after) {
            Some(b'#') if after > pos => {
                let end = self.comment(after)?;
                self.end_line(end)
            }
            None | Some(b'\n') => self.end_line(after),
            _ => Err(self.decline(after, reason)),
        }
    }

    /// `pos` is a line break or the end: the next line starts after it.
    fn end_line(&mut self, pos: usize) -> Result<(), Declined> {
        match self.at(pos) {
            Some(b'\n') => self.next_line(pos + 1),
            None => self.pos = pos,
            Some(_) => return Err(self.decline(pos, "more on the line")),
        }
        Ok(())
    }

    fn next_line(&mut self, start: usize) {
        self.pos = start;
        self.line += 1;
        self.line_start = start;
    }

    /// The end of the line's text from `pos`: the offset of its line break or of the end of the
    /// source. Declines on characters YAML does not allow and on carriage returns.
    fn line_text(&self, pos: usize) -> Result<usize, Declined> {
        let mut at = pos;
        loop {
            at = find(self.bytes, at, special_bytes);
            match self.at(at) {
                None | Some(b'\n') => return Ok(at),
                Some(b'\t') => at += 1,
                Some(byte) if byte >= 0x80 => at = self.character(at)?,
                Some(_) => return Err(self.decline(at, "a control character")),
            }
        }
    }

    /// The non-ASCII character at `at`; returns the offset past it. Declines on the characters
    /// YAML does not allow (C1 controls, U+FFFE, U+FFFF) and on those granit-parser might read
    /// as line breaks or a byte order mark.
    fn character(&self, at: usize) -> Result<usize, Declined> {
        let character = self.source.get(at..).and_then(|rest| rest.chars().next());
        match character {
            Some('\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') | None => {
                Err(self.decline(at, "a special character"))
            }
            Some(character) => Ok(at + character.len_utf8()),
        }
    }

    /// Whether `pos` starts `---` (or `...`) followed by a space, a line break or the end.
    fn is_marker(&self, pos: usize, byte: u8) -> bool {
        self.bytes.get(pos..pos + 3) == Some(&[byte; 3]) && matches!(self.at(pos + 3), None | Some(b' ' | b'\n'))
    }

    fn skip_spaces(&self, mut pos: usize) -> usize {
        while let Some(chunk) = self.bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
            let others = u64::from_le_bytes(*chunk) ^ (ONES * u64::from(b' '));
            if others != 0 {
                return pos + (others.trailing_zeros() / 8) as usize;
            }
            pos += 8;
        }
        while self.bytes.get(pos) == Some(&b' ') {
            pos += 1;
        }
        pos
    }

    fn at(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'s str, Declined> {
        self.source.get(start..end).ok_or_else(|| self.decline(start, "a range inside a character"))
    }

    #[inline(always)]
    fn emit_scalar(&mut self, scalar: Scalar) -> Result<(), Declined> {
        let value = if scalar.escaped {
            Cow::Owned(std::mem::take(&mut self.text))
        } else if scalar.style == ScalarStyle::Plain {
            Cow::Borrowed(self.slice(scalar.start, scalar.end)?)
        } else {
            Cow::Borrowed(self.slice(scalar.start + 1, scalar.end.saturating_sub(1))?)
        };
        let event = Event::Scalar { value, style: scalar.style, anchor: 0, tag: None };
        self.emit(event, scalar.start, scalar.end, self.line)
    }

    /// An empty value, zero-width at `at`: a key's `:`, or the end of a `---` line.
    fn emit_empty(&mut self, at: usize, line: usize) -> Result<(), Declined> {
        let empty = Event::Scalar { value: Cow::Borrowed(EMPTY), style: ScalarStyle::Plain, anchor: 0, tag: None };
        self.emit(empty, at, at, line)
    }

    #[inline(always)]
    fn emit(&mut self, event: Event<'s>, start: usize, end: usize, line: usize) -> Result<(), Declined> {
        (self.sink)(event, Span { start, end, line }).map_err(|_| self.decline(start, "the sink refused an event"))
    }

    fn decline(&self, offset: usize, reason: &'static str) -> Declined {
        Declined { offset, reason }
    }
}

/// Whether a plain scalar may start with `-`, `?` or `:` followed by `next`.
fn is_plain_safe(next: Option<u8>) -> bool {
    next.is_some_and(|byte| !matches!(byte, b' ' | b'\n' | b'\t' | b'\r') && !is_flow_indicator(byte))
}

/// YAML's indicators: no plain scalar starts with one, but for [`is_plain_safe`] cases.
fn is_indicator(byte: u8) -> bool {
    is_flow_indicator(byte)
        || matches!(
            byte,
            b'-' | b'?' | b':' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`'
        )
}

/// The indicators that end a plain scalar in flow context.
fn is_flow_indicator(byte: u8) -> bool {
    matches!(byte, b',' | b'[' | b']' | b'{' | b'}')
}

/// The character a backslash and `byte` stand for in a double-quoted scalar, but for the hex
/// escapes `\x`, `\u` and `\U`.
fn simple_escape(byte: u8) -> Option<char> {
    Some(match byte {
        b'0' => '\0',
        b'a' => '\u{7}',
        b'b' => '\u{8}',
        b't' | b'\t' => '\t',
        b'n' => '\n',
        b'v' => '\u{b}',
        b'f' => '\u{c}',
        b'r' => '\r',
        b'e' => '\u{1b}',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        _ => return None,
    })
}

fn push_breaks(value: &mut String, count: usize) {
    value.extend(std::iter::repeat_n('\n', count));
}

/// Scans `source` with both scanners and compares their events: kinds, values, styles and
/// spans in order, comments as a separate list in source order. Also checks that the fast
/// scanner gives every comment before the events that follow it in the source. Returns the
/// first difference, if any.
///
/// # Errors
/// [`Declined`] when the fast scanner declines.
pub(crate) fn compare(source: &str) -> Result<Option<String>, Declined> {
    let mut fast_events = Vec::new();
    let mut fast_comments = Vec::new();
    // Each non-comment event with the number of comments given before it.
    let outcome = scan(source, &mut |event, span| {
        match event {
            Event::Comment { .. } => fast_comments.push((event, span)),
            _ => fast_events.push((event, span, fast_comments.len())),
        }
        Ok(())
    });
    outcome?;
    let mut events = Vec::new();
    let mut comments = Vec::new();
    let outcome = super::granit::scan(source, &mut |event, span| {
        match event {
            Event::Comment { .. } => comments.push((event, span)),
            _ => events.push((event, span)),
        }
        Ok(())
    });
    if let Err(error) = outcome {
        return Ok(Some(format!("the fast scanner accepted a source granit-parser refuses: {error}")));
    }
    comments.sort_by_key(|(_, span)| span.start);
    for index in 0..events.len().max(fast_events.len()) {
        let fast = fast_events.get(index).map(|(event, span, _)| (event, span));
        let granit = events.get(index).map(|(event, span)| (event, span));
        if fast != granit {
            return Ok(Some(format!("event {index}: fast {fast:?}, granit {granit:?}")));
        }
    }
    for index in 0..comments.len().max(fast_comments.len()) {
        let (fast, granit) = (fast_comments.get(index), comments.get(index));
        if fast != granit {
            return Ok(Some(format!("comment {index}: fast {fast:?}, granit {granit:?}")));
        }
    }
    for (event, span, given) in &fast_events {
        let before = fast_comments.iter().filter(|(_, comment)| comment.start < span.start).count();
        if *given < before {
            return Ok(Some(format!("{event:?} at {span:?} came before {before} comments preceding it")));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that the fast scanner accepts `source` and agrees with granit-parser.
    #[track_caller]
    fn assert_accepted(source: &str) {
        match compare(source) {
            Ok(None) => {}
            Err(declined) => panic!("{declined} in {source:?}"),
            Ok(Some(difference)) => panic!("{difference} in {source:?}"),
        }
    }

    /// Asserts that the fast scanner declines `source`.
    #[track_caller]
    fn assert_declined(source: &str) {
        match compare(source) {
            Err(_) => {}
            Ok(None) => panic!("accepted {source:?}"),
            Ok(Some(difference)) => panic!("{difference} in {source:?}"),
        }
    }

    macro_rules! accepted {
        ($($name:ident: $source:expr,)*) => {$(
            #[test]
            fn $name() {
                assert_accepted($source);
            }
        )*};
    }

    macro_rules! declined {
        ($($name:ident: $source:expr,)*) => {$(
            #[test]
            fn $name() {
                assert_declined($source);
            }
        )*};
    }

    accepted! {
        empty: "",
        blank_lines: "\n\n  \n",
        only_comments: "# one\n  # two\n#three",
        mapping: "a: b\nc: d\n",
        mapping_without_final_break: "a: b\nc: d",
        trailing_spaces: "a: b   \nc: d  ",
        leading_comments: "# c1\n\n# c2\na: b\n",
        nested_mappings: "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
        sequence: "- a\n- b\n",
        nested_sequences: "- - a\n  - b\n- c\n",
        indented_sequence: "k:\n  - a\n  - b\nz: 1\n",
        indentless_sequence: "k:\n- a\n- b\nz: 1\n",
        indentless_sequence_at_end: "a:\n  k:\n  - a\n  - b\n",
        compact_mappings: "- k: v\n  j: w\n- x\n",
        kyaml_containers: "spec:\n  containers:\n  - name: a\n    image: x:1\n    ports:\n    - containerPort: 80\n  - name: b\n",
        empty_values: "a:\nb: c\nd:",
        empty_value_at_end: "a:\n",
        empty_value_with_comment: "a:   # c\nb: 1\n",
        empty_value_before_comment_line: "a: \n  # c\nb: 1\n",
        empty_nested_value: "a:\n  b:\n  c: 1\nd: 2",
        empty_value_in_entry: "- a:\n- b\n",
        space_before_colon: "a : b\nc  :\nd: e\n",
        keys_with_spaces: "a b: c d\n",
        colons_in_values: "image: ghcr.io/org/app:1.2.3\nurl: http://x/y\n",
        hashes_in_values: "a: b#c\nd: e # f\n",
        dashes_in_values: "a: -1\nb: --x\nc:\n- -d\n- e: -f\n",
        comments_everywhere: "# top\na: b # right\n# between\nc:\n  # inside\n  d: e\n\n# tail\n",
        comment_texts: "a: b #\nc: d #  spaced \n#\n",
        unicode: "name: café\n\"ключ\": 'значение'\nk: 日本 # コメント\n",
        single_quoted: "k: 'it''s' \n'q': x\n",
        double_quoted: "k: \"a\\\"b\\n\\t\\u00e9\\x41\" # c\n\"d\": y\n",
        double_quoted_escapes: "k: \"\\0\\a\\b\\v\\f\\r\\e\\ \\/\\\\\\N\\_\\L\\P\\U0001F600\"\n",
        quoted_with_tab: "k: \"a\tb\"\nl: 'c\td'\n",
        empty_quoted: "a: ''\nb: \"\"\n",
        flow_mapping: "k: {a: b, c: \"d\", e: [x, y, {}], f: []}\nl: [ a , b ]\n",
        flow_in_sequence: "- {a: b}\n- [a]\n",
        flow_nested: "a: {b: {c: [d, {e: f}]}}\n",
        flow_quoted_keys: "a: {\"b\": c, 'd': 'e'}\n",
        flow_with_comment: "a: [x, y] # c\n",
        literal: "c: |\n    lit\n\n# tail\nd: e\n",
        literal_nested_end: "x:\n  c: |\n      lit\n\n  e: 1\n",
        literal_keep: "x:\n  c: |+\n      lit\n\n  e: 1\n",
        literal_keep_at_end: "c: |+\n  lit\n\n",
        literal_keep_without_break: "c: |+\n  lit",
        literal_strip: "d: 1\nc: |-\n    lit",
        literal_more_indented: "c: |\n  a\n    b\n  c\n",
        literal_trailing_space_lines: "d: 1\nc: |\n    lit\n    \n",
        literal_leading_blank: "c: |\n\n  a\n",
        folded: "d: 1\nc: >  # hdr\n    lit\n     more\n\n    x\n    y\n\n\nd: 1\n",
        folded_strip: "x:\n  c: >-\n      lit\n      l2\n  \n   \n       \n  e: 1\n",
        folded_trailing_spaces: "c: >\n  lit\n\n   ",
        block_scalars_in_sequence: "x:\n- |\n  lit\n- >\n  a\n  b\n",
        block_scalar_in_entry_mapping: "- a: |\n    x\n  b: 1\n",
        block_scalar_with_hash: "c: |\n  # not a comment\n  x\n",
        block_scalar_before_document: "c: |\n  x\n---\nd: 1\n",
        explicit_document: "---\na: b\n",
        documents: "--- # x\na: b\n---\n- x\n",
        empty_documents: "---\n---\n",
        empty_document_with_comments: "--- \n\n# x\n---\n",
        empty_last_document: "a: b\n---\n",
        marker_without_break: "---",
        document_after_empty_value: "a:\n---\nb:\n",
        comments_between_documents: "a: b\n# c\n---\n# d\nb: c\n",
        quoted_key_then_space: "\"a\" : b\n",
        quoted_compact_key: "- \"c\": d\n  e: f\n",
        flow_without_spaces: "a: {b: 'c',d: \"e\"}\nf: [g,h]\n",
        flow_plain_with_colons: "a: [http://x, b:c]\nd: {e: http://y}\n",
        non_breaking_spaces: "a: x\u{a0}\nb: \u{a0}y\nc: 'x\u{a0}y'\n",
        block_header_spacing: "a:  |\n  x\nb: |-  # c\n  y\n",
        block_scalar_comment_below_indent: "a: |\n  x\n # c\nb: 1\n",
        block_scalar_leading_blank_lines: "a: |\n  \n \n\n  x\n",
        folded_keep_before_key: "a: >+\n  x\n\n\nb: 1\n",
        nested_empty_values: "a:\n  b:\n    c:\nd:\n",
        empty_value_before_indentless_entry_key: "a:\n  b:\n  - c:\n",
        wide_entries: "-  a\n-   b: c\n    d: e\n- - - a\n    - b\n  - c\n",
        deep_but_fine: &(0..100).map(|depth| format!("{}k:\n", "  ".repeat(depth))).collect::<String>(),
    }

    declined! {
        tab_indentation: "a:\n\tb: c\n",
        tab_separation: "a:\tb\n",
        carriage_return: "a: b\r\n",
        byte_order_mark: "\u{feff}a: b\n",
        anchor: "a: &x b\n",
        alias: "a: *x\n",
        tag: "a: !!str b\n",
        explicit_key: "? a\n: b\n",
        directive: "%YAML 1.2\n---\na: b\n",
        document_end: "a: b\n...\n",
        multi_line_plain: "a: b\n  c\n",
        multi_line_single_quoted: "a: 'b\n  c'\n",
        multi_line_double_quoted: "a: \"b\n  c\"\n",
        multi_line_flow: "a: [b,\n  c]\n",
        complex_key: "[a]: b\n",
        root_scalar: "a\n",
        indented_root: "  a: b\n",
        value_on_next_line: "a:\n  b\n",
        empty_entry: "- \n- x\n",
        entry_on_next_line: "-\n  a: b\n",
        indentation_indicator: "a: |2\n   x\n",
        block_scalar_over_indented_blank_line: "a: |\n   \n  x\n",
        empty_block_scalar: "a: |\nb: 1\n",
        block_scalar_header_at_end: "a: |",
        block_scalar_header_comment_at_end: "a: >- # c",
        deep_nesting: &"[".repeat(300),
        bad_indentation: "a:\n    b: 1\n  c: 2\n",
        mapping_in_value: "a: b: c\n",
        sequence_in_value: "a: - b\n",
        trailing_comma: "a: [b,]\n",
        json_adjacent_value: "a: {\"b\":1}\n",
        flow_without_values: "a: {b, c}\n",
        pair_in_flow_sequence: "a: [b: c]\n",
        unclosed_flow: "a: [b\n",
        unterminated_quote: "a: 'b",
        invalid_escape: "a: \"\\q\"\n",
        surrogate_escape: "a: \"\\ud800\"\n",
        signed_hex_escape: "a: \"\\u+041\"\n",
        short_hex_escape: "a: \"\\x4\"\n",
        control_character: "a: b\u{1}\n",
        c1_control: "a: b\u{85}\n",
        mismatched_flow: "a: {b: c]\n",
        content_after_marker: "--- a\n",
        duplicate_sequence_after_mapping: "a: b\n- c\n",
        many_comments_after_key: &format!("a:\n{}b: 1\n", "# c\n".repeat(100)),
        long_key: &format!("{}: b\n", "k".repeat(1100)),
        long_flow_key: &format!("a: {{{}: b}}\n", "k".repeat(1100)),
        long_quoted_flow_key: &format!("a: {{'{}': b}}\n", "k".repeat(1100)),
        spaces_before_colon: &format!("k{}: b\n", " ".repeat(1100)),
        spaces_before_colon_in_entry: &format!("- 'k'{}: b\n", " ".repeat(1100)),
        spaces_before_flow_colon: &format!("a: {{k{}: b}}\n", " ".repeat(1100)),
    }

    #[test]
    fn deep_nesting_declines_before_granit_refuses() {
        let source: String = (0..300).map(|depth| format!("{}k:\n", "  ".repeat(depth))).collect();
        assert_declined(&source);
    }

    #[test]
    fn a_refusing_sink_declines() {
        let outcome = scan("a: b\n", &mut |_, _| Err(ParseError { line: 1, column: 1, message: String::new() }));
        assert_eq!(outcome.unwrap_err().reason, "the sink refused an event");
    }

    #[test]
    fn scalars_borrow_the_source() {
        let mut owned = Vec::new();
        scan("a: b\n'c': \"d\"\ne: {f: 'g'}\n", &mut |event, _| {
            if let Event::Scalar { value: Cow::Owned(value), .. } = event {
                owned.push(value);
            }
            Ok(())
        })
        .unwrap();
        assert!(owned.is_empty(), "{owned:?}");
    }

    /// Every YAML file of the repository's test data and examples: no difference, and a report
    /// of how many the fast scanner accepts.
    #[test]
    fn repository_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut directories = vec![root.join("testdata"), root.join("functions")];
        while let Some(directory) = directories.pop() {
            for entry in std::fs::read_dir(&directory).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    directories.push(path);
                } else if path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut declined = Vec::new();
        for path in &files {
            let source = std::fs::read_to_string(path).unwrap();
            match compare(&source) {
                Ok(None) => {}
                Err(why) => declined.push(format!("{}: {why}", path.display())),
                Ok(Some(difference)) => panic!("{}: {difference}", path.display()),
            }
        }
        eprintln!("fast scanner: accepted {} of {} files; declined:", files.len() - declined.len(), files.len());
        for line in &declined {
            eprintln!("  {line}");
        }
        assert!(files.len() > 20, "found only {} files", files.len());
        assert!(declined.len() * 5 < files.len(), "declined {} of {} files", declined.len(), files.len());
    }

    /// The fuzz target's seeds cover the subset: every one is accepted.
    #[test]
    fn fuzz_seeds_are_accepted() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scan");
        let mut seeds = 0;
        for entry in std::fs::read_dir(directory).unwrap() {
            assert_accepted(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
            seeds += 1;
        }
        assert!(seeds >= 5);
    }

    /// How much of a fuzzing corpus the fast scanner accepts, and why it declines the rest:
    /// `SCAN_CORPUS=DIR cargo test --lib corpus_acceptance -- --ignored --nocapture`.
    #[test]
    #[ignore = "a tool: needs SCAN_CORPUS"]
    fn corpus_acceptance() {
        let directory = std::env::var("SCAN_CORPUS").expect("SCAN_CORPUS names a directory");
        let (mut total, mut accepted, mut reasons) = (0, 0, std::collections::BTreeMap::new());
        for entry in std::fs::read_dir(directory).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let Ok(source) = std::str::from_utf8(&bytes) else { continue };
            total += 1;
            match compare(source) {
                Ok(None) => accepted += 1,
                Ok(Some(difference)) => panic!("{difference} in {source:?}"),
                Err(declined) => *reasons.entry(declined.reason).or_insert(0) += 1,
            }
        }
        eprintln!("accepted {accepted} of {total}; declined: {reasons:#?}");
    }
}
