//! Workloads and where their containers are.

use crate::resource_list::Resource;
use crate::yaml::{FieldPath, Node, Segment};

use super::Site;

/// The container lists of a pod spec.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The path from a workload's root to its pod spec, by kind.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "PodTemplate" => &["template", "spec"],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" | "Rollout" => {
            &["spec", "template", "spec"]
        }
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    })
}

/// A container's `image` field.
#[derive(Debug, Clone)]
pub struct ContainerImage {
    /// The container's name.
    pub(super) name: String,
    /// Path to the `image` field.
    pub(super) path: FieldPath,
    /// The `image` scalar.
    pub(super) site: Site,
}

/// Whether `resource` is a workload this tool knows the pod spec of.
pub(super) fn is_workload(resource: &Resource<'_>) -> bool {
    resource.kind().and_then(pod_spec_path).is_some()
}

/// Every container, init container and ephemeral container image of a workload.
pub(super) fn container_images(resource: &Resource<'_>) -> Vec<ContainerImage> {
    container_images_except(resource, |_| false)
}

/// [`container_images`], without those whose `image` node `skip` says to leave out (before
/// their path and value are copied).
pub(super) fn container_images_except(
    resource: &Resource<'_>,
    skip: impl Fn(&Node<'_>) -> bool,
) -> Vec<ContainerImage> {
    let Some(spec_path) = resource.kind().and_then(pod_spec_path) else { return Vec::new() };
    let path = FieldPath { segments: spec_path.iter().map(|key| Segment::Key((*key).to_owned())).collect() };
    let Some(spec) = path.lookup(resource.node) else { return Vec::new() };
    let mut images = Vec::new();
    for list in CONTAINER_LISTS {
        let containers = spec.get(list).and_then(Node::items).unwrap_or_default();
        for (index, container) in containers.iter().enumerate() {
            let (Some(node), name) = (container.get("image"), container.get_str("name")) else { continue };
            if node.as_scalar().is_none() || skip(node) {
                continue;
            }
            let item = match name {
                Some(name) => Segment::Match { key: "name".to_owned(), value: name.to_owned() },
                None => Segment::Index(index),
            };
            let image_path =
                path.child(Segment::Key(list.to_owned())).child(item).child(Segment::Key("image".to_owned()));
            images.push(ContainerImage { name: name.unwrap_or("").to_owned(), path: image_path, site: Site::of(node) });
        }
    }
    images
}
