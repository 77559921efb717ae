//! Field paths: `spec.values.image.tag`, `spec.images[0].newTag`, `spec.containers[name=app].image`.
//!
//! The syntax of the `imgpolicy.dev/setters` annotation and of `field.path` in results (the form
//! kpt and kustomize print). A key containing `.` or `[` is written in brackets with quotes:
//! `metadata.annotations["example.com/x"]`.

use std::fmt;

use super::Node;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
    /// The sequence item whose `key` field is the scalar `value`.
    Match {
        /// The field compared, usually `name`.
        key: String,
        /// The value it must have.
        value: String,
    },
}

/// A path from a resource's root to one of its fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath {
    /// The steps, outermost first.
    pub segments: Vec<Segment>,
}

/// A field path that does not follow the syntax.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid field path `{path}`: {reason}")]
pub struct ParseFieldPathError {
    /// The path as written.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FieldPath {
    /// Parses the dotted syntax.
    ///
    /// ```
    /// use imgpolicy::yaml::{FieldPath, Segment};
    /// let path = FieldPath::parse("spec.containers[name=app].image").unwrap();
    /// assert_eq!(path.segments[2], Segment::Match { key: "name".into(), value: "app".into() });
    /// assert_eq!(path.to_string(), "spec.containers[name=app].image");
    /// ```
    ///
    /// # Errors
    /// An empty path or segment, an unclosed bracket, or a bracket that is neither an index,
    /// `key=value`, nor a quoted key.
    pub fn parse(path: &str) -> Result<Self, ParseFieldPathError> {
        let error = |reason| ParseFieldPathError { path: path.to_owned(), reason };
        let mut segments = Vec::new();
        let mut rest = path;
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('[') {
                let (segment, after) = parse_bracket(inner).map_err(error)?;
                segments.push(segment);
                rest = after;
                expect_key = false;
            } else if let Some(after_dot) = rest.strip_prefix('.') {
                if expect_key {
                    return Err(error("empty segment"));
                }
                rest = after_dot;
                expect_key = true;
                if rest.is_empty() {
                    return Err(error("ends with `.`"));
                }
            } else {
                if !expect_key {
                    return Err(error("expected `.` or `[` after a segment"));
                }
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                segments.push(Segment::Key(rest[..end].to_owned()));
                rest = &rest[end..];
                expect_key = false;
            }
        }
        if segments.is_empty() {
            return Err(error("empty path"));
        }
        Ok(Self { segments })
    }

    /// The path one step deeper.
    pub fn child(&self, segment: Segment) -> Self {
        let mut segments = self.segments.clone();
        segments.push(segment);
        Self { segments }
    }

    /// The node at this path under `root`, if every step exists.
    pub fn lookup<'n, 's>(&self, root: &'n Node<'s>) -> Option<&'n Node<'s>> {
        self.segments.iter().try_fold(root, |node, segment| match segment {
            Segment::Key(key) => node.get(key),
            Segment::Index(index) => node.items()?.get(*index),
            Segment::Match { key, value } => node.items()?.iter().find(|item| item.get_str(key) == Some(value)),
        })
    }
}

/// A bracket starting at `text` (after `[`): the segment and the rest after its `]`.
///
/// A double-quoted key takes `\"` and `\\` escapes; a single-quoted one ends at `']`. Either
/// may hold `]` and `.`.
fn parse_bracket(text: &str) -> Result<(Segment, &str), &'static str> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut key = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => key.push(chars.next().ok_or("unclosed `[`")?.1),
                '"' => {
                    let rest = quoted[at + 1..].strip_prefix(']').ok_or("expected `]` after a quoted key")?;
                    return Ok((Segment::Key(key), rest));
                }
                c => key.push(c),
            }
        }
        return Err("unclosed `[`");
    }
    if let Some(quoted) = text.strip_prefix('\'') {
        let close = quoted.find("']").ok_or("unclosed `[`")?;
        return Ok((Segment::Key(quoted[..close].to_owned()), &quoted[close + 2..]));
    }
    let close = text.find(']').ok_or("unclosed `[`")?;
    let segment = parse_bare_bracket(&text[..close]).ok_or("brackets hold an index, `key=value` or a quoted key")?;
    Ok((segment, &text[close + 1..]))
}

fn parse_bare_bracket(inner: &str) -> Option<Segment> {
    if let Ok(index) = inner.parse::<usize>() {
        return Some(Segment::Index(index));
    }
    let (key, value) = inner.split_once('=')?;
    (!key.is_empty()).then(|| Segment::Match { key: key.to_owned(), value: value.to_owned() })
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                // Quoted as the parser reads it back, `"` and `\` escaped.
                Segment::Key(key) if key.contains(['.', '[', ']']) || key.is_empty() => {
                    write!(f, "[\"{}\"]", key.replace('\\', "\\\\").replace('"', "\\\""))?
                }
                Segment::Key(key) if position == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Match { key, value } => write!(f, "[{key}={value}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_stream;

    macro_rules! parse_tests {
        ($($name:ident: $path:expr => $segments:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(FieldPath::parse($path).map(|p| p.segments), $segments);
            }
        )*};
    }

    fn key(k: &str) -> Segment {
        Segment::Key(k.into())
    }

    parse_tests! {
        dotted: "spec.values.image.tag" => Ok(vec![key("spec"), key("values"), key("image"), key("tag")]);
        index: "spec.images[0].newTag" => Ok(vec![key("spec"), key("images"), Segment::Index(0), key("newTag")]);
        matcher: "containers[name=app].image" => Ok(vec![key("containers"), Segment::Match { key: "name".into(), value: "app".into() }, key("image")]);
        quoted_key: "metadata.annotations[\"a.b/c\"]" => Ok(vec![key("metadata"), key("annotations"), key("a.b/c")]);
        nested_index: "a[0][1]" => Ok(vec![key("a"), Segment::Index(0), Segment::Index(1)]);
        empty: "" => Err(ParseFieldPathError { path: String::new(), reason: "empty path" });
        double_dot: "a..b" => Err(ParseFieldPathError { path: "a..b".into(), reason: "empty segment" });
        trailing_dot: "a." => Err(ParseFieldPathError { path: "a.".into(), reason: "ends with `.`" });
        unclosed: "a[0" => Err(ParseFieldPathError { path: "a[0".into(), reason: "unclosed `[`" });
        bad_bracket: "a[x]" => Err(ParseFieldPathError { path: "a[x]".into(), reason: "brackets hold an index, `key=value` or a quoted key" });
    }

    #[test]
    fn display_round_trips() {
        for path in [
            "spec.values.image.tag",
            "spec.images[0].newTag",
            "a[name=x].b",
            "metadata.annotations[\"a.b/c\"]",
            "a[\"b]c\"].d",
            "a[\"x\\\"]y'\\\\\"][\"\"]",
        ] {
            assert_eq!(FieldPath::parse(path).unwrap().to_string(), path);
        }
    }

    #[test]
    fn lookup_follows_every_kind_of_step() {
        let stream =
            parse_stream("spec:\n  containers:\n  - name: a\n    image: x\n  - name: b\n    image: y\n").unwrap();
        let root = &stream.documents[0].root;
        let by_name = FieldPath::parse("spec.containers[name=b].image").unwrap();
        assert_eq!(by_name.lookup(root).and_then(Node::as_str), Some("y"));
        let by_index = FieldPath::parse("spec.containers[0].image").unwrap();
        assert_eq!(by_index.lookup(root).and_then(Node::as_str), Some("x"));
        assert!(FieldPath::parse("spec.containers[name=c].image").unwrap().lookup(root).is_none());
    }
}
