# Shell helpers for the examples: a throwaway registry on loopback and images pushed to it.
# Source this file; it needs docker-registry, curl and python3.

# start_registry: starts Debian's docker-registry on a free loopback port with storage under
# $work (which the caller creates and removes); sets $host and $registry_pid.
start_registry() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  host="127.0.0.1:$port"
  cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: $host}
YAML
  docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 50); do curl -fs "http://$host/v2/" >/dev/null && return 0; sleep 0.1; done
  echo "registry did not start; its log:" >&2; cat "$work/registry.log" >&2; return 1
}

# push_blob REPO FILE: uploads FILE as a blob of REPO, prints its digest.
push_blob() {
  local digest location
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  location=$(curl -fsS -o /dev/null -w '%header{location}' -X POST "http://$host/v2/$1/blobs/uploads/")
  case "$location" in /*) location="http://$host$location";; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$location&digest=$digest"
  echo "$digest"
}

# push_tags REPO TAG...: pushes one small distinct image per tag.
push_tags() {
  local repo=$1 tag layer config
  shift
  for tag in "$@"; do
    printf 'layer of %s:%s\n' "$repo" "$tag" > "$work/layer"
    printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"tag":"%s"}}}' "$tag" > "$work/config"
    layer=$(push_blob "$repo" "$work/layer"); config=$(push_blob "$repo" "$work/config")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
      "$config" "$(stat -c %s "$work/config")" "$layer" "$(stat -c %s "$work/layer")" > "$work/manifest"
    curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$work/manifest" "http://$host/v2/$repo/manifests/$tag"
  done
}
