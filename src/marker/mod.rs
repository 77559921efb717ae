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

use std::ops::Range;

use crate::config::Config;
use crate::resource::{Resource, ResourceIdentity};
use crate::results::{FnResult, Severity};
use crate::yaml::{Comment, FieldPath, Node, NodeKind, Scalar, Segment};

pub use comment::CommentIndex;
pub use workload::ContainerImage;

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

/// A marked value, owned so that it outlives the tree it was found in: where its bytes are,
/// the scalar as written, and why it cannot be edited, if it cannot.
#[derive(Debug, Clone)]
pub struct Site {
    /// The byte range an edit replaces.
    pub range: Range<usize>,
    /// The scalar; `None` for an alias.
    pub scalar: Option<Scalar<'static>>,
    /// Why the value is left alone, if it is: an alias, an empty value, a non-string tag.
    pub refusal: Option<String>,
}

impl Site {
    /// The site of `node`.
    pub fn of(node: &Node) -> Self {
        Self { range: node.range.clone(), scalar: node.as_scalar().map(Scalar::to_static), refusal: refusal(node) }
    }

    /// The value as a one-line field holds it; empty for an alias.
    pub fn text(&self) -> &str {
        self.scalar.as_ref().map_or("", Scalar::text)
    }
}

/// One scalar to update.
#[derive(Debug, Clone)]
pub struct Target {
    /// Index of the item in the run.
    pub item: usize,
    /// The scalar to rewrite.
    pub site: Site,
    /// Its path within the item, for results.
    pub path: FieldPath,
    /// The policy and the part it writes.
    pub marker: MarkerValue,
    /// How it was marked.
    pub origin: Origin,
}

/// What the markers ask for: values a policy governs, and images to pin.
#[derive(Debug, Default)]
pub struct Found {
    /// Values to update by policy, in document order.
    pub targets: Vec<Target>,
    /// Container images to pin to a digest (`pinDigests`), in document order.
    pub pins: Vec<PinTarget>,
    /// The identity of every item that has a target or a pin, by item number.
    pub resources: std::collections::BTreeMap<usize, ResourceIdentity>,
}

/// What one item's markers ask for, read before the configuration is known.
///
/// A ResourceList is read one item at a time and each item's tree dropped once read, so that
/// memory stays proportional to the largest item rather than to the list. What `matchImages`
/// and `pinDigests` need is kept (the container images of a workload), decided by [`select`]
/// once the configuration is complete.
#[derive(Debug)]
pub struct ItemMarks {
    item: usize,
    identity: ResourceIdentity,
    /// Comment and annotation targets, a scalar marked several ways counted once.
    marked: Vec<Target>,
    /// A workload's container images.
    containers: Vec<ContainerImage>,
    /// Malformed or dangling markers, in the order found.
    warnings: Vec<FnResult>,
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

/// Reads the markers of every item of `sources`, numbering items across the sources in order.
pub fn scan_sources(sources: &[Source<'_>]) -> Vec<ItemMarks> {
    let items = sources.iter().flat_map(|source| {
        let comments = CommentIndex::new(source.text, source.comments);
        source.items.iter().map(move |resource| (resource, comments))
    });
    items.enumerate().filter_map(|(item, (resource, comments))| scan(item, resource, &comments)).collect()
}

/// Reads the markers of `resource`, item number `item`: its marked values, its container
/// images, and a warning for each malformed or dangling marker; `None` when it has none of
/// these (most items of a large list), so that nothing is kept for it.
pub fn scan(item: usize, resource: &Resource<'_>, comments: &CommentIndex<'_>) -> Option<ItemMarks> {
    let mut warnings = Vec::new();
    let mut marked = comment::find(item, resource, comments, &mut warnings);
    for target in annotation::find(item, resource, &mut warnings) {
        push_unique(&mut marked, target);
    }
    // A container image already marked is never matched or pinned: `select` would skip it.
    let containers =
        workload::container_images_except(resource, |node| marked.iter().any(|target| target.site.range == node.range));
    if marked.is_empty() && containers.is_empty() && warnings.is_empty() {
        return None;
    }
    Some(ItemMarks { item, identity: resource.identity(), marked, containers, warnings })
}

/// Decides the targets of every item now that the configuration is known, with the items'
/// warnings (and a warning for each marked value that cannot be edited) in item order.
///
/// A scalar marked several ways is updated once: a comment wins over an annotation, which wins
/// over `matchImages`, which wins over `pinDigests`.
pub fn select(marks: Vec<ItemMarks>, config: &Config, warnings: &mut Vec<FnResult>) -> Found {
    let mut out = Found::default();
    for ItemMarks { item, identity, mut marked, containers, warnings: mut found_warnings } in marks {
        warnings.append(&mut found_warnings);
        if config.match_images {
            for target in matching::find(item, &containers, config) {
                push_unique(&mut marked, target);
            }
        }
        marked.sort_by_key(|target| target.site.range.start);
        let mut used = false;
        if config.pin_digests {
            let pins = pin::find(item, containers, config, &marked);
            used |= !pins.is_empty();
            out.pins.extend(pins);
        }
        for target in marked {
            match &target.site.refusal {
                None => {
                    used = true;
                    out.targets.push(target);
                }
                Some(reason) => {
                    warnings.push(FnResult::at(Severity::Warning, reason.clone(), item, &identity, Some(&target.path)))
                }
            }
        }
        if used {
            out.resources.insert(item, identity);
        }
    }
    out
}

/// Why a marked node is left alone, if it is: an alias (editing it would replace the alias,
/// not the value it shares; the anchored value is what to mark), an empty value, or a scalar
/// with a tag other than `!!str` (`!!int`, a custom `!tag`), whose meaning a new value could
/// break.
fn refusal(node: &Node) -> Option<String> {
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

fn push_unique(targets: &mut Vec<Target>, target: Target) {
    if !targets.iter().any(|existing| existing.site.range == target.site.range) {
        targets.push(target);
    }
}

/// One step of the path [`visit_scalars`] is at, borrowed from the tree.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'n> {
    /// A mapping key.
    Key(&'n str),
    /// A sequence item with a `name`, addressed as `[name=x]`.
    Named(&'n str),
    /// A sequence item by index.
    Index(usize),
}

/// The owned field path of `steps`.
pub(crate) fn field_path(steps: &[Step<'_>]) -> FieldPath {
    let segments = steps
        .iter()
        .map(|step| match *step {
            Step::Key(key) => Segment::Key(key.to_owned()),
            Step::Named(name) => Segment::Match { key: "name".to_owned(), value: name.to_owned() },
            Step::Index(index) => Segment::Index(index),
        })
        .collect();
    FieldPath { segments }
}

/// Calls `visit(path, node, head)` for every scalar (and alias) under `node`, where `head` is
/// the node that heads it: the key of a mapping entry, or the value itself in a sequence.
///
/// The path is a stack of steps borrowed from the tree, so a visitor that needs it makes a
/// [`field_path`]; most scalars carry no marker and cost no allocation. Sequence items with a
/// `name` are addressed as `[name=x]`, others by index.
pub(crate) fn visit_scalars<'n>(
    node: &'n Node,
    head: &'n Node,
    path: &mut Vec<Step<'n>>,
    visit: &mut impl FnMut(&[Step<'n>], &'n Node, &'n Node),
) {
    match &node.kind {
        NodeKind::Scalar(_) => visit(path, node, head),
        NodeKind::Mapping { entries, .. } => {
            for entry in entries.iter() {
                if let Some(key) = entry.key.as_str() {
                    path.push(Step::Key(key));
                    visit_scalars(&entry.value, &entry.key, path, visit);
                    path.pop();
                }
            }
        }
        NodeKind::Sequence { items, .. } => {
            for (index, item) in items.iter().enumerate() {
                let step = match item.get_str("name") {
                    Some(name) if !name.contains(['[', ']']) => Step::Named(name),
                    _ => Step::Index(index),
                };
                path.push(step);
                visit_scalars(item, item, path, visit);
                path.pop();
            }
        }
        // Visited so that a marker on an alias is reported rather than silently ignored.
        NodeKind::Alias(_) => visit(path, node, head),
    }
}
