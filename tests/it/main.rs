//! imgpolicy's integration tests: one binary, one module per area.

// The fluent harness that runs the binary.
mod harness;
// A real `docker-registry` on loopback with images pushed by the tests.
mod registry;
// The registry client: listing, pagination, digests, tokens, retries, pacing, deadline.
mod registry_client;
// TLS, htpasswd and token-auth registries, a token issuer and a metadata server, for auth tests.
mod secure_registry;
// The binary with credentials: config.json, helpers, Google, TLS, redirects, the request economy.
mod registry_auth;
// The KRM function over testdata/fn cases, snapshotted whole.
mod function;
// Byte-for-byte preservation of everything that is not an edited value.
mod lossless;
// kpt end to end over the bundled example package.
mod kpt;
// `imgpolicy select` and `--explain`.
mod select;
// Properties of tag selection over generated tag sets, against independent references.
mod policy_properties;
// `imgpolicy update`: write-back for CI.
mod update;
// kubectl kustomize's exec plugin and the ArgoCD plugin.
mod hosts;
