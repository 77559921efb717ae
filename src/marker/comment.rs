//! Flux setter comments: `# {"$imagepolicy": "<namespace>:<name>[:part]"}`.
//!
//! As in Flux, the line comment of a scalar is read first, else its head comment (the comment
//! lines directly above the key or sequence entry). The comment must be a JSON object whose
//! `$imagepolicy` member is a string; any other comment is not a marker. A comment that mentions
//! `$imagepolicy` but does not parse gets a warning rather than silence.

use crate::resource::Resource;
use crate::results::{FnResult, Severity};
use crate::yaml::{Comment, FieldPath, Node, Segment};

use super::{MarkerValue, Origin, Part, Site, Step, Target, field_path, visit_scalars};

/// The key of a Flux setter comment.
pub(super) const KEY: &str = "$imagepolicy";

/// The comments of a text, in source order, with enough of the text to tell comment-only
/// lines. Lookups are binary searches, so an index over the comments read so far costs nothing
/// to make: a ResourceList read item by item makes one per item.
#[derive(Debug, Clone, Copy)]
pub struct CommentIndex<'s> {
    source: &'s str,
    comments: &'s [Comment],
}

impl<'s> CommentIndex<'s> {
    /// Indexes `comments` of `source`, which must be in source order (as the parser reports
    /// them).
    pub fn new(source: &'s str, comments: &'s [Comment]) -> Self {
        Self { source, comments }
    }

    /// The comments on `line`.
    fn on_line(&self, line: usize) -> &'s [Comment] {
        let first = self.comments.partition_point(|comment| comment.line < line);
        let count = self.comments[first..].iter().take_while(|comment| comment.line == line).count();
        &self.comments[first..first + count]
    }

    /// The comment on `line` that starts at or after byte `after`.
    fn trailing(&self, line: usize, after: usize) -> Option<&'s Comment> {
        self.on_line(line).iter().find(|comment| comment.range.start >= after)
    }

    /// The comment that is the only content of `line`.
    fn whole_line(&self, line: usize) -> Option<&'s Comment> {
        let comment = self.on_line(line).first()?;
        let line_start = self.source[..comment.range.start].rfind('\n').map_or(0, |newline| newline + 1);
        self.source[line_start..comment.range.start].trim().is_empty().then_some(comment)
    }

    /// The comment-only lines directly above `line`, nearest first.
    fn above(&self, line: usize) -> impl Iterator<Item = &'s Comment> + '_ {
        (1..line).rev().map_while(|line| self.whole_line(line))
    }

    /// The index of the comments that can concern `node`: those on its lines and the block of
    /// comment-only lines directly above it. Lookups for its scalars then search a few
    /// comments, not every comment of the source.
    fn around(&self, node: &Node) -> Self {
        let within = self.comments.partition_point(|comment| comment.line < node.line);
        let end = self.comments.partition_point(|comment| comment.line <= node.end_line).max(within);
        // The block above is the comments right before `within`, one per line.
        let first = within - self.above(node.line).count().min(within);
        Self { source: self.source, comments: &self.comments[first..end] }
    }

    /// The lines, in order, of the comments that may be markers (see [`may_be_marker`]). Only a
    /// scalar on one of them, or below one, can be marked by a comment.
    fn marker_lines(&self) -> Vec<usize> {
        self.comments.iter().filter(|comment| may_be_marker(&comment.text)).map(|comment| comment.line).collect()
    }

    /// Whether the node starting at `offset` is the first key of a `- ` sequence entry, whose
    /// head comment belongs to the entry, not to the key.
    fn opens_sequence_entry(&self, offset: usize) -> bool {
        let line_start = self.source[..offset].rfind('\n').map_or(0, |newline| newline + 1);
        self.source[line_start..offset].trim_start().starts_with('-')
    }
}

/// Whether [`parse`] can say anything of `text` but `None`: only a JSON object (which has a
/// `{`) can be a marker, and only one that mentions [`KEY`] can be a malformed one.
fn may_be_marker(text: &str) -> bool {
    text.contains('{') || text.contains(KEY)
}

/// Whether a comment's text is a marker: `None` when it is not one at all.
fn parse(text: &str) -> Option<Result<MarkerValue, String>> {
    let trimmed = text.trim();
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(trimmed) else {
        return text.contains(KEY).then(|| Err(format!("comment `#{text}` mentions `{KEY}` but is not a JSON object")));
    };
    match object.get(KEY)? {
        serde_json::Value::String(value) => Some(MarkerValue::parse(value).map_err(|error| error.to_string())),
        _ => Some(Err(format!("`{KEY}` in comment `#{text}` must be a string"))),
    }
}

/// In a Kustomization's `images:` list, `newTag`, `newName` and `digest` can only hold one
/// part, so a marker without a suffix there means that part. (Flux would write the whole
/// reference into `newTag`, which kustomize then rejects; the seed's own marker is written so.)
fn implied_part(kind: Option<&str>, path: &FieldPath, part: Part) -> Part {
    let segments = &path.segments;
    let in_images =
        segments.len() >= 3 && matches!(&segments[segments.len() - 3], Segment::Key(key) if key == "images");
    if part != Part::Full || kind != Some("Kustomization") || !in_images {
        return part;
    }
    match segments.last() {
        Some(Segment::Key(key)) if key == "newTag" => Part::Tag,
        Some(Segment::Key(key)) if key == "newName" => Part::Name,
        Some(Segment::Key(key)) if key == "digest" => Part::Digest,
        _ => part,
    }
}

/// Targets marked by comments in `resource`.
pub(super) fn find(
    item: usize,
    resource: &Resource<'_>,
    comments: &CommentIndex<'_>,
    warnings: &mut Vec<FnResult>,
) -> Vec<Target> {
    let mut targets = Vec::new();
    let comments = &comments.around(resource.node);
    let lines = comments.marker_lines();
    if lines.is_empty() {
        return targets;
    }
    let mut visit = |path: &[Step<'_>], node: &Node, head: &Node| {
        let line_comment = match lines.binary_search(&node.end_line) {
            Ok(_) => comments.trailing(node.end_line, node.range.end).and_then(|c| parse(&c.text)),
            Err(_) => None,
        };
        let marker = line_comment.or_else(|| {
            if lines.first().is_none_or(|&first| first >= head.line) {
                return None;
            }
            let marker = comments.above(head.line).find_map(|c| parse(&c.text))?;
            // A head comment above `- key:` belongs to the sequence entry, not to the key.
            let of_the_entry = comments.opens_sequence_entry(head.range.start) && head.range != node.range;
            (!of_the_entry).then_some(marker)
        });
        match marker {
            None => {}
            Some(Err(message)) => {
                let identity = resource.identity();
                warnings.push(FnResult::at(Severity::Warning, message, item, &identity, Some(&field_path(path))));
            }
            Some(Ok(mut marker)) => {
                let path = field_path(path);
                marker.part = implied_part(resource.kind(), &path, marker.part);
                targets.push(Target { item, site: Site::of(node), path, marker, origin: Origin::Comment });
            }
        }
    };
    visit_scalars(resource.node, resource.node, &mut Vec::new(), &mut visit);
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_objects_with_the_key_are_markers() {
        assert!(parse(r#" {"$imagepolicy": "ns:app"}"#).is_some_and(|m| m.is_ok()));
        assert!(parse(" just a comment").is_none());
        assert!(parse(r#" {"other": "x"}"#).is_none());
        assert!(parse(r#" {"$imagepolicy": "ns:app""#).is_some_and(|m| m.is_err()));
        assert!(parse(r#" {"$imagepolicy": 3}"#).is_some_and(|m| m.is_err()));
        assert!(parse(r#" {"$imagepolicy": "app"}"#).is_some_and(|m| m.is_err()));
    }
}
