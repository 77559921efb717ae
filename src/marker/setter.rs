//! The marker value grammar shared by comments and annotations: `<namespace>:<name>[:tag|:name|:digest]`.

use std::fmt;

use crate::config::PolicyRef;

/// Which part of the image reference a marked scalar holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `<image>:<tag>`, plus `@<digest>` when a digest is reflected.
    Full,
    /// The tag only.
    Tag,
    /// The repository only, as configured.
    Name,
    /// The digest only.
    Digest,
}

/// A parsed marker: the policy and the part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerValue {
    /// The policy named.
    pub policy: PolicyRef,
    /// The part written.
    pub part: Part,
}

/// A marker value that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid marker `{value}`: {reason}")]
pub struct ParseMarkerError {
    /// The value as written.
    pub value: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl MarkerValue {
    /// Parses `<namespace>:<name>[:tag|:name|:digest]`; the namespace is required, as in Flux.
    ///
    /// ```
    /// use imgpolicy::marker::{MarkerValue, Part};
    /// let marker = MarkerValue::parse("flux-system:app:tag").unwrap();
    /// assert_eq!((marker.policy.name.as_str(), marker.part), ("app", Part::Tag));
    /// assert!(MarkerValue::parse("app").is_err());
    /// ```
    ///
    /// # Errors
    /// A missing namespace or name, or an unknown suffix.
    pub fn parse(value: &str) -> Result<Self, ParseMarkerError> {
        let error = |reason| ParseMarkerError { value: value.to_owned(), reason };
        let mut pieces = value.split(':');
        let (namespace, name, suffix) = (pieces.next(), pieces.next(), pieces.next());
        if pieces.next().is_some() {
            return Err(error("expected `<namespace>:<name>` with an optional `:tag`, `:name` or `:digest`"));
        }
        let (Some(namespace), Some(name)) = (namespace.filter(|n| !n.is_empty()), name.filter(|n| !n.is_empty()))
        else {
            return Err(error("expected `<namespace>:<name>`; the namespace is required"));
        };
        let part = match suffix {
            None => Part::Full,
            Some("tag") => Part::Tag,
            Some("name") => Part::Name,
            Some("digest") => Part::Digest,
            Some(_) => return Err(error("the suffix must be `tag`, `name` or `digest`")),
        };
        Ok(Self { policy: PolicyRef { namespace: namespace.to_owned(), name: name.to_owned() }, part })
    }
}

impl fmt::Display for MarkerValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.policy)?;
        match self.part {
            Part::Full => Ok(()),
            Part::Tag => f.write_str(":tag"),
            Part::Name => f.write_str(":name"),
            Part::Digest => f.write_str(":digest"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! marker_tests {
        ($($name:ident: $input:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(MarkerValue::parse($input).map(|m| m.to_string()).map_err(|e| e.reason), $expected);
            }
        )*};
    }

    marker_tests! {
        full: "flux-system:app" => Ok("flux-system:app".into());
        tag: "ns:app:tag" => Ok("ns:app:tag".into());
        name: "ns:app:name" => Ok("ns:app:name".into());
        digest: "ns:app:digest" => Ok("ns:app:digest".into());
        no_namespace: "app" => Err("expected `<namespace>:<name>`; the namespace is required");
        empty_name: "ns:" => Err("expected `<namespace>:<name>`; the namespace is required");
        bad_suffix: "ns:app:version" => Err("the suffix must be `tag`, `name` or `digest`");
        too_many: "ns:app:tag:x" => Err("expected `<namespace>:<name>` with an optional `:tag`, `:name` or `:digest`");
    }
}
