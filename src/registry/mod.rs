//! Talking to OCI registries: tag listing and manifest digests over the distribution API.
//!
//! One [`RegistryClient`] serves a whole run. It maps Docker Hub's names to its API host, speaks
//! HTTPS unless a host is marked insecure, answers `WWW-Authenticate` bearer challenges with
//! anonymous tokens (cached per host and scope), follows `Link` pagination on the same host only,
//! and reads digests from `HEAD` + `Docker-Content-Digest`.
//!
//! Normalising image names (`nginx` -> `docker.io/library/nginx`) is the caller's job: this
//! module takes a host and a repository exactly as they will appear in the request.

mod auth;
mod client;
mod digest;
mod error;
mod runtime;
mod tags;

pub use auth::TokenError;
pub use client::{RegistryClient, RegistrySettings};
pub use error::RegistryError;
pub use runtime::block_on;
pub use tags::LinkError;
