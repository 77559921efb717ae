//! Splicing replacement text into the original bytes.

use std::ops::Range;

/// One replacement: the bytes in `range` become `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte range of the source to replace.
    pub range: Range<usize>,
    /// The new text.
    pub text: String,
}

/// A set of non-overlapping edits to one source text.
#[derive(Debug, Default, Clone)]
pub struct Edits {
    edits: Vec<Edit>,
}

impl Edits {
    /// No edits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an edit. An edit of a range already edited replaces the earlier one.
    pub fn push(&mut self, edit: Edit) {
        self.edits.retain(|existing| existing.range != edit.range);
        self.edits.push(edit);
    }

    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The number of edits.
    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// `source` with every edit applied.
    ///
    /// # Errors
    /// Returns a description of the first edit that overlaps another or falls outside
    /// `source` or off a character boundary; then nothing is applied.
    pub fn apply(&self, source: &str) -> Result<String, String> {
        let mut edits: Vec<&Edit> = self.edits.iter().collect();
        edits.sort_by_key(|edit| (edit.range.start, edit.range.end));
        let mut output = String::with_capacity(source.len() + 64);
        let mut cursor = 0;
        for edit in edits {
            let Range { start, end } = edit.range;
            if start < cursor || end < start || source.get(start..end).is_none() {
                return Err(format!(
                    "internal error: edit of bytes {start}..{end} overlaps another or is outside the input"
                ));
            }
            output.push_str(&source[cursor..start]);
            output.push_str(&edit.text);
            cursor = end;
        }
        output.push_str(&source[cursor..]);
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order_whatever_the_push_order() {
        let mut edits = Edits::new();
        edits.push(Edit { range: 6..7, text: "Z".into() });
        edits.push(Edit { range: 0..1, text: "AA".into() });
        assert_eq!(edits.apply("a b c d").unwrap(), "AA b c Z");
    }

    #[test]
    fn refuses_overlaps() {
        let mut edits = Edits::new();
        edits.push(Edit { range: 0..3, text: String::new() });
        edits.push(Edit { range: 2..4, text: String::new() });
        assert!(edits.apply("abcdef").is_err());
    }

    #[test]
    fn same_range_replaces() {
        let mut edits = Edits::new();
        edits.push(Edit { range: 0..1, text: "x".into() });
        edits.push(Edit { range: 0..1, text: "y".into() });
        assert_eq!(edits.apply("ab").unwrap(), "yb");
    }
}
