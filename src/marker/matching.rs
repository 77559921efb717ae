//! `matchImages: true`: every container image of a policy's repository is a target, unmarked.

use crate::config::Config;
use crate::image::ImageRef;

use super::workload::ContainerImage;
use super::{MarkerValue, Origin, Part, Target};

/// The `containers` of item `item` whose repository is a policy's (after normalisation).
///
/// When several policies select the same repository, the first by `namespace:name` wins.
pub(super) fn find(item: usize, containers: &[ContainerImage], config: &Config) -> Vec<Target> {
    let mut targets = Vec::new();
    for image in containers {
        let Some(repository) = ImageRef::parse(image.site.text()).ok().and_then(|r| r.repository().ok()) else {
            continue;
        };
        if let Some(policy) = config.policies.values().find(|policy| policy.repository == repository) {
            let marker = MarkerValue { policy: policy.reference.clone(), part: Part::Full };
            let (site, path) = (image.site.clone(), image.path.clone());
            targets.push(Target { item, site, path, marker, origin: Origin::Container });
        }
    }
    targets
}
