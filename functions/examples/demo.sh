#!/usr/bin/env bash
# Runs the seed example end to end, on this machine only:
#   1. starts Debian's docker-registry on a free loopback port (temporary storage),
#   2. pushes backend/server with the tags the seed's CI would have pushed,
#   3. copies the kpt package, runs `kpt fn render --allow-exec` with imgpolicy,
#   4. prints the diff of the package: the dev overlay's marked tag, and nothing else.
# Needs: target/release/imgpolicy (cargo build --release), docker-registry, kpt, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary="$root/target/release/imgpolicy"
[ -x "$binary" ] || { echo "demo: build first: cargo build --release" >&2; exit 1; }
for tool in docker-registry kpt curl python3; do
  command -v "$tool" >/dev/null || { echo "demo: \`$tool\` is required" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'kill "$registry_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: $host}
YAML
docker-registry serve "$work/registry.yml" 2>"$work/registry.log" &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://$host/v2/" >/dev/null && break; sleep 0.1; done

# push_blob FILE: upload FILE as a blob of backend/server, print its digest
push_blob() {
  local digest location
  digest="sha256:$(sha256sum "$1" | cut -d' ' -f1)"
  location=$(curl -fsS -o /dev/null -w '%header{location}' -X POST "http://$host/v2/backend/server/blobs/uploads/")
  case "$location" in /*) location="http://$host$location";; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$location&digest=$digest"
  echo "$digest"
}
for tag in 0.9.0 1.0.0 1.1.0 latest main-4d5e6f7-1700000100; do
  printf 'layer of %s\n' "$tag" > "$work/layer"
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"tag":"%s"}}}' "$tag" > "$work/config"
  layer=$(push_blob "$work/layer"); config=$(push_blob "$work/config")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
    "$config" "$(stat -c %s "$work/config")" "$layer" "$(stat -c %s "$work/layer")" > "$work/manifest"
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$work/manifest" "http://$host/v2/backend/server/manifests/$tag"
done
echo "registry $host has backend/server: $(curl -fsS "http://$host/v2/backend/server/tags/list")" >&2

mkdir -p "$work/before"
cp -r "$here/kpt-seed" "$work/before/cloud-provisioning"
grep -rl '127.0.0.1:5000' "$work/before" | xargs sed -i "s/127\.0\.0\.1:5000/$host/g"
cp -r "$work/before" "$work/after"
PATH="$(dirname "$binary"):$PATH" kpt fn render --allow-exec "$work/after/cloud-provisioning" >&2
(cd "$work" && diff -ru before after) || true
