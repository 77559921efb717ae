//! Configuration errors: what is wrong, and in which object and field.

use std::fmt;

/// A configuration problem, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The object and field, e.g. `functionConfig ImagePolicyConfig/images: spec.policies[0].image`.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A problem at `place`.
    pub fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        Self { place: place.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

impl std::error::Error for ConfigError {}
