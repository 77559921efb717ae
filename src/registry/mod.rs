//! Talking to OCI registries: tag listing and manifest digests over the distribution API, like
//! a production client.
//!
//! One [`RegistryClient`] serves a whole run. It maps Docker Hub's names to its API host, speaks
//! HTTPS unless a host is marked insecure (trusting a host's `caFile` and `SSL_CERT_FILE` on top
//! of the system roots), answers `WWW-Authenticate` challenges (bearer tokens, anonymous or with
//! credentials, cached per host and scope, one token asked for several repositories of a
//! registry; basic auth), finds credentials where Docker, Podman and Google's tools keep them,
//! follows `Link` pagination on the same host only, reads digests from `HEAD` +
//! `Docker-Content-Digest` (or a platform's child of an index), retries with backoff, paces
//! requests per host, stops at a run deadline, and counts its requests.
//!
//! Redirects are followed by reqwest, which drops `Authorization` when the scheme, host or
//! port changes (`reqwest::redirect::remove_sensitive_headers`); a test holds it to that.
//!
//! Normalising image names (`nginx` -> `docker.io/library/nginx`) is the caller's job: this
//! module takes a host and a repository exactly as they will appear in the request.

mod auth;
mod client;
mod credentials;
mod digest;
mod error;
mod identity;
mod platform;
mod retry;
mod runtime;
mod settings;
mod stats;
mod tags;

pub use auth::TokenError;
pub use client::RegistryClient;
pub use credentials::CredentialError;
pub(crate) use digest::{hex, sha256_hex};
pub use error::RegistryError;
pub use platform::{ParsePlatformError, Platform};
pub use runtime::block_on;
pub use settings::{ClientLimits, CredentialSource, HostSettings, RegistrySettings, parse_duration};
pub use stats::{RequestCounts, network_wait, request_counts};
pub use tags::{LinkError, next_page_link};
