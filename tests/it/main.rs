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
// A real `redis-server` on loopback, one per test that asks.
mod redis_server;
// The disk cache across runs: hits, expiry, corruption, credentials, offline and refresh.
mod cache;
// The Redis fleet cache: shared answers, one fetch for concurrent renderers, Redis down.
mod fleet_cache;
// A registry whose every answer a test scripts: faults and hostile behaviour on demand.
mod scripted_registry;
// Registry faults through the function: right value after retries, or exit 1 with nothing changed.
mod faults;
// A hostile registry: invalid tags, foreign links, a million tags, digests that are not digests.
mod hostile_registry;
// Hostile input: alias bombs, deep nesting, 100 MB, invalid UTF-8, duplicate keys, anchors, tags.
mod hostile_input;
// Sentinel secrets through the remaining auth paths and through registries that echo them.
mod secrets;
// `update` write-back when a write fails part way: all files or none, no temporary file left.
mod write_back;
