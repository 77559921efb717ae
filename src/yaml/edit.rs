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
        self.edits.push(edit);
    }

    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The output's pieces in order: slices of `source` between edits and the edits' texts.
    ///
    /// # Errors
    /// A description of the first edit that overlaps another or falls outside `source` or off a
    /// character boundary.
    fn pieces<'a>(&'a self, source: &'a str) -> Result<Vec<&'a str>, String> {
        let mut order: Vec<usize> = (0..self.edits.len()).collect();
        // Stable: of edits to one range, the last pushed comes last and is the one kept.
        order.sort_by_key(|&index| (self.edits[index].range.start, self.edits[index].range.end));
        order.dedup_by(|later, earlier| {
            let same = self.edits[*later].range == self.edits[*earlier].range;
            if same {
                *earlier = *later;
            }
            same
        });
        let mut pieces = Vec::with_capacity(order.len() * 2 + 1);
        let mut cursor = 0;
        for edit in order.into_iter().map(|index| &self.edits[index]) {
            let Range { start, end } = edit.range;
            if start < cursor || end < start || source.get(start..end).is_none() {
                return Err(format!(
                    "internal error: edit of bytes {start}..{end} overlaps another or is outside the input"
                ));
            }
            pieces.push(&source[cursor..start]);
            pieces.push(edit.text.as_str());
            cursor = end;
        }
        pieces.push(&source[cursor..]);
        Ok(pieces)
    }

    /// `source` with every edit applied.
    ///
    /// # Errors
    /// Returns a description of the first edit that overlaps another or falls outside
    /// `source` or off a character boundary; then nothing is applied.
    pub fn apply(&self, source: &str) -> Result<String, String> {
        Ok(self.pieces(source)?.concat())
    }

    /// Writes `source` with every edit applied to `out`, without holding the whole output in
    /// memory. Every edit is checked before the first byte is written.
    ///
    /// # Errors
    /// [`Edits::apply`]'s, as an [`std::io::ErrorKind::InvalidInput`] error, before anything is
    /// written; or the writer's.
    pub fn write_to(&self, source: &str, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let pieces =
            self.pieces(source).map_err(|message| std::io::Error::new(std::io::ErrorKind::InvalidInput, message))?;
        pieces.iter().try_for_each(|piece| out.write_all(piece.as_bytes()))
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
    fn writing_streams_what_apply_returns_and_checks_first() {
        let mut edits = Edits::new();
        edits.push(Edit { range: 4..5, text: "C".into() });
        edits.push(Edit { range: 0..1, text: "A".into() });
        let mut out = Vec::new();
        edits.write_to("a b c d", &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), edits.apply("a b c d").unwrap());
        edits.push(Edit { range: 3..5, text: String::new() });
        let mut out = Vec::new();
        let error = edits.write_to("a b c d", &mut out).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(out.is_empty(), "nothing written before the check");
    }

    #[test]
    fn same_range_replaces() {
        let mut edits = Edits::new();
        edits.push(Edit { range: 0..1, text: "x".into() });
        edits.push(Edit { range: 1..2, text: "z".into() });
        edits.push(Edit { range: 0..1, text: "y".into() });
        assert_eq!(edits.apply("ab").unwrap(), "yz");
    }
}
