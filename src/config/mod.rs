//! Where policies come from, merged into one resolved [`Config`].
//!
//! Three sources (DESIGN §2): the `ImagePolicyConfig` functionConfig, Flux `ImageRepository` +
//! `ImagePolicy` objects among the items, and a `ConfigMap` functionConfig of flat keys. Each is
//! read into typed structs (serde over the YAML tree's JSON view), validated, and compiled; an
//! error names the object and the field.

mod config_map;
mod error;
mod flux;
mod image_policy_config;
mod resolved;

pub use error::{ConfigError, ConfigErrors};
pub use resolved::{Config, DigestReflection, OnError, Policy, PolicyRef};

use crate::resource_list::Resource;
use crate::yaml::Node;

/// Deserialises `resource`'s `spec`; an error names `object` and the failing field's path.
fn read_spec<T: serde::de::DeserializeOwned>(resource: &Resource<'_>, object: &str) -> Result<T, ConfigError> {
    let spec = match resource.node.get("spec").map(crate::yaml::to_json).transpose() {
        Ok(spec) => spec.unwrap_or(serde_json::Value::Null),
        Err(error) => return Err(ConfigError::new(format!("{object}: spec"), error.to_string())),
    };
    serde_path_to_error::deserialize(spec).map_err(|error| {
        let path = error.path().to_string();
        let place = if path == "." { format!("{object}: spec") } else { format!("{object}: spec.{path}") };
        ConfigError::new(place, error.into_inner().to_string())
    })
}

/// Whether [`load`] reads configuration from `item` (a Flux `ImageRepository` or
/// `ImagePolicy`): the items a caller must keep for it.
pub fn is_read_from(item: &Resource<'_>) -> bool {
    flux::is_image_object(item)
}

/// Builds the configuration from function configs (the functionConfig, or `update`'s config
/// files) and the items.
///
/// # Errors
/// Every problem found, each naming its object and field; the caller turns them into results.
pub fn load(function_configs: &[&Node], items: &[Resource<'_>]) -> Result<Config, Vec<ConfigError>> {
    let mut config = Config::default();
    let mut errors = Vec::new();
    for node in function_configs.iter().copied() {
        let resource = Resource::new(node);
        match (resource.api_version(), resource.kind()) {
            (_, Some("ImagePolicyConfig")) => image_policy_config::read(&resource, &mut config, &mut errors),
            (Some("v1"), Some("ConfigMap")) => config_map::read(&resource, &mut config, &mut errors),
            (api_version, kind) => errors.push(ConfigError::new(
                "functionConfig",
                format!(
                    "expected kind `ImagePolicyConfig` (apiVersion `{}`) or a `ConfigMap`, found `{}` `{}`",
                    image_policy_config::API_VERSION,
                    api_version.unwrap_or(""),
                    kind.unwrap_or("")
                ),
            )),
        }
    }
    flux::read(items, &mut config, &mut errors);
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}
