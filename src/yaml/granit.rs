//! The general scanner: granit-parser's events, translated into [`Event`]s.
//!
//! granit-parser accepts all of YAML 1.2 and reports errors with line and column; it is what
//! runs whenever the fast scanner declines a source.

use granit_parser::{Parser, StructureStyle};

use super::event::{Event, Span};
use super::tree::ParseError;

/// Scans `source` with granit-parser, handing every event to `sink` in order.
///
/// # Errors
/// The first error `sink` returns, or a [`ParseError`] where the source stops being YAML.
pub(crate) fn scan<'s>(
    source: &'s str,
    sink: &mut impl FnMut(Event<'s>, Span) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    for next in Parser::new_from_str(source) {
        let (event, span) = next.map_err(|error| ParseError {
            line: error.marker().line(),
            column: error.marker().col() + 1,
            message: error.info().to_string(),
        })?;
        // `Parser::new_from_str` guarantees byte offsets; 0 is only reached if that ever
        // changed, and then edits would be wrong, so the splice engine re-checks every range.
        let span = Span {
            start: span.start.byte_offset().unwrap_or(0),
            end: span.end.byte_offset().unwrap_or(0),
            line: span.start.line(),
        };
        let event = match event {
            granit_parser::Event::Comment(text, _) => Event::Comment { text },
            granit_parser::Event::DocumentStart(explicit, _) => Event::DocumentStart { explicit },
            granit_parser::Event::DocumentEnd => Event::DocumentEnd,
            granit_parser::Event::Scalar(value, style, anchor, tag) => {
                Event::Scalar { value, style, anchor, tag: tag.map(|tag| tag.to_string()) }
            }
            granit_parser::Event::Alias(id) => Event::Alias { id },
            granit_parser::Event::SequenceStart(style, anchor, _) => {
                Event::SequenceStart { flow: style == StructureStyle::Flow, anchor }
            }
            granit_parser::Event::SequenceEnd => Event::SequenceEnd,
            granit_parser::Event::MappingStart(style, anchor, _) => {
                Event::MappingStart { flow: style == StructureStyle::Flow, anchor }
            }
            granit_parser::Event::MappingEnd => Event::MappingEnd,
            _ => continue,
        };
        sink(event, span)?;
    }
    Ok(())
}
