//! `matchImages: true`: every container image of a policy's repository is a target, unmarked.

use crate::config::Config;
use crate::image::ImageRef;
use crate::resource_list::Resource;

use super::workload::container_images;
use super::{MarkerValue, Origin, Part, Target};

/// Container images of `resource` whose repository is a policy's (after normalisation).
///
/// When several policies select the same repository, the first by `namespace:name` wins.
pub(super) fn find<'n>(item: usize, resource: &Resource<'n>, config: &Config) -> Vec<Target<'n>> {
    let mut targets = Vec::new();
    for image in container_images(resource) {
        let Some(repository) =
            image.node.as_str().and_then(|value| ImageRef::parse(value).ok()).and_then(|r| r.repository().ok())
        else {
            continue;
        };
        if let Some(policy) = config.policies.values().find(|policy| policy.repository == repository) {
            let marker = MarkerValue { policy: policy.reference.clone(), part: Part::Full };
            targets.push(Target { item, node: image.node, path: image.path, marker, origin: Origin::Container });
        }
    }
    targets
}
