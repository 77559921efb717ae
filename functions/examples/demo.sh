#!/usr/bin/env bash
# Runs the seed example end to end, on this machine only:
#   1. starts Debian's docker-registry on a free loopback port (temporary storage),
#   2. pushes backend/server with the tags the seed's CI would have pushed,
#   3. copies the kpt package, runs `kpt fn render --allow-exec` with imgpolicy,
#   4. prints the diff of the package: the dev overlay's marked tag, and nothing else.
# Needs: target/release/imgpolicy (cargo build --release), docker-registry, kpt, curl, python3.
# IMGPOLICY=/path/to/imgpolicy runs another build (CI runs the one inside the container image).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${IMGPOLICY:-$(cd "$here/../.." && pwd)/target/release/imgpolicy}
[ -x "$binary" ] || { echo "demo: build first: cargo build --release" >&2; exit 1; }
for tool in docker-registry kpt curl python3; do
  command -v "$tool" >/dev/null || { echo "demo: \`$tool\` is required" >&2; exit 1; }
done
. "$here/lib/registry.sh"

work=$(mktemp -d)
registry_pid=
trap 'kill $registry_pid 2>/dev/null || true; rm -rf "$work"' EXIT
start_registry
push_tags backend/server 0.9.0 1.0.0 1.1.0 latest main-4d5e6f7-1700000100
echo "registry $host has backend/server: $(curl -fsS "http://$host/v2/backend/server/tags/list")" >&2

mkdir -p "$work/before" "$work/bin"
cp -r "$here/kpt-seed" "$work/before/cloud-provisioning"
grep -rl '127.0.0.1:5000' "$work/before" | xargs sed -i "s/127\.0\.0\.1:5000/$host/g"
cp -r "$work/before" "$work/after"
ln -s "$binary" "$work/bin/imgpolicy"
PATH="$work/bin:$PATH" kpt fn render --allow-exec "$work/after/cloud-provisioning" >&2
(cd "$work" && diff -ru before after) || true
