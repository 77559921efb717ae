//! Markers: which values get updated, and by which policy (DESIGN §3).
//!
//! Every finder yields [`Target`]s: one scalar of one resource, the policy that governs it, and
//! which part of the image reference the scalar holds. Finders never edit; the resolver does.

mod annotation;
mod comment;
mod matching;
mod pin;
mod setter;
mod workload;

pub use pin::PinTarget;
pub use setter::{MarkerValue, ParseMarkerError, Part};

use crate::config::Config;
use crate::resource_list::{Resource, ResourceList};
use crate::results::FnResult;
use crate::yaml::{Comment, FieldPath, Node, NodeKind, Segment};

/// How a target was marked, which decides how its value is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A Flux setter comment: a whole-image marker writes the policy's image as configured.
    Comment,
    /// An annotation or `matchImages`: the repository stays as written, tag and digest change.
    Container,
    /// A path in `imgpolicy.dev/setters`: like a comment.
    Setter,
}

/// One scalar to update.
#[derive(Debug, Clone)]
pub struct Target<'n> {
    /// Index of the item in the ResourceList.
    pub item: usize,
    /// The scalar node to rewrite.
    pub node: &'n Node,
    /// Its path within the item, for results.
    pub path: FieldPath,
    /// The policy and the part it writes.
    pub marker: MarkerValue,
    /// How it was marked.
    pub origin: Origin,
}

/// What the markers ask for: values a policy governs, and images to pin.
#[derive(Debug, Default)]
pub struct Found<'n> {
    /// Values to update by policy, in document order.
    pub targets: Vec<Target<'n>>,
    /// Container images to pin to a digest (`pinDigests`), in document order.
    pub pins: Vec<PinTarget<'n>>,
}

/// Resources read from one text, with that text's comments: a ResourceList, or one file.
#[derive(Debug)]
pub struct Source<'s> {
    /// The text.
    pub text: &'s str,
    /// Its comments.
    pub comments: &'s [Comment],
    /// The resources in it, in order.
    pub items: Vec<Resource<'s>>,
}

impl<'s> Source<'s> {
    /// The items of a ResourceList.
    pub fn of_list(list: &'s ResourceList) -> Self {
        Self { text: list.source(), comments: &list.stream().comments, items: list.items() }
    }
}

/// Finds every target in `sources`, with a warning for each malformed or dangling marker.
///
/// Items are numbered across the sources, in order. A scalar marked several ways is updated
/// once: a comment wins over an annotation, which wins over `matchImages`, which wins over
/// `pinDigests`.
pub fn find<'n>(sources: &[Source<'n>], config: &Config, warnings: &mut Vec<FnResult>) -> Found<'n> {
    let mut found = Found::default();
    let mut offset = 0;
    for source in sources {
        find_in(source, offset, config, warnings, &mut found);
        offset += source.items.len();
    }
    found
}

fn find_in<'n>(source: &Source<'n>, offset: usize, config: &Config, warnings: &mut Vec<FnResult>, out: &mut Found<'n>) {
    let comments = comment::CommentIndex::new(source.text, source.comments);
    // A text that never mentions the key holds no comment marker, valid or not: skip the walk
    // (kustomize's input, which has no comments at all, always takes this path).
    let may_have_comment_markers = source.text.contains(comment::KEY);
    for (local, resource) in source.items.iter().enumerate() {
        let index = offset + local;
        let mut found =
            if may_have_comment_markers { comment::find(index, resource, &comments, warnings) } else { Vec::new() };
        for target in annotation::find(index, resource, warnings) {
            push_unique(&mut found, target);
        }
        if config.match_images {
            for target in matching::find(index, resource, config) {
                push_unique(&mut found, target);
            }
        }
        found.sort_by_key(|target| target.node.range.start);
        if config.pin_digests {
            let taken: Vec<&Node> = found.iter().map(|target| target.node).collect();
            let pins = pin::find(index, resource, config, &taken);
            out.pins.extend(pins.into_iter().filter(|pin| refusal(pin.node).is_none()));
        }
        for target in found {
            match refusal(target.node) {
                None => out.targets.push(target),
                Some(reason) => warnings.push(FnResult::at(
                    crate::results::Severity::Warning,
                    reason,
                    index,
                    resource,
                    Some(&target.path),
                )),
            }
        }
    }
}

/// Why a marked node is left alone, if it is: an alias (editing it would replace the alias,
/// not the value it shares; the anchored value is what to mark), an empty value, or a scalar
/// with a tag other than `!!str` (`!!int`, a custom `!tag`), whose meaning a new value could
/// break.
fn refusal(node: &Node) -> Option<String> {
    use crate::yaml::NodeKind;
    match &node.kind {
        NodeKind::Alias(target) => Some(format!(
            "`*{}` is an alias, and aliases are never edited; mark the value anchored at line {} instead",
            target.name(),
            target.node().line
        )),
        // An empty value has no bytes of its own to replace, so a splice there would change the
        // key or the block header, not the value.
        NodeKind::Scalar(scalar) if !node.is_replaceable() && !scalar.text().is_empty() => Some(
            "the block scalar starts with blank lines, which an edit would keep; remove them so the value is one line"
                .to_owned(),
        ),
        NodeKind::Scalar(_) if !node.is_replaceable() => {
            Some("the value is empty, so there is nothing to replace; write the current value there".to_owned())
        }
        NodeKind::Scalar(scalar) if !scalar.is_str() => Some(format!(
            "the value is tagged `{}`; only untagged or `!!str` values are edited, so it is left as it is",
            scalar.tag_shorthand().unwrap_or_default()
        )),
        _ => None,
    }
}

fn push_unique<'n>(targets: &mut Vec<Target<'n>>, target: Target<'n>) {
    if !targets.iter().any(|existing| existing.node.range == target.node.range) {
        targets.push(target);
    }
}

/// Calls `visit(path, node, head)` for every scalar (and alias) under `node`, where `head` is
/// the node that heads it: the key of a mapping entry, or the value itself in a sequence.
///
/// The path is a stack borrowed for the call, so a visitor that needs it keeps a copy; most
/// scalars carry no marker and cost no allocation. Sequence items with a `name` are addressed
/// as `[name=x]`, others by index.
pub(crate) fn visit_scalars<'n>(
    node: &'n Node,
    head: &'n Node,
    path: &mut Vec<Segment>,
    visit: &mut impl FnMut(&[Segment], &'n Node, &'n Node),
) {
    match &node.kind {
        NodeKind::Scalar(_) => visit(path, node, head),
        NodeKind::Mapping { entries, .. } => {
            for entry in entries.iter() {
                if let Some(key) = entry.key.as_str() {
                    path.push(Segment::Key(key.to_owned()));
                    visit_scalars(&entry.value, &entry.key, path, visit);
                    path.pop();
                }
            }
        }
        NodeKind::Sequence { items, .. } => {
            for (index, item) in items.iter().enumerate() {
                let segment = match item.get_str("name") {
                    Some(name) if !name.contains(['[', ']']) => {
                        Segment::Match { key: "name".to_owned(), value: name.to_owned() }
                    }
                    _ => Segment::Index(index),
                };
                path.push(segment);
                visit_scalars(item, item, path, visit);
                path.pop();
            }
        }
        // Visited so that a marker on an alias is reported rather than silently ignored.
        NodeKind::Alias(_) => visit(path, node, head),
    }
}
