#!/usr/bin/env bash
# Builds veldr's container image (Containerfile) with podman.
#
#   scripts/image.sh [IMAGE]        # default IMAGE: veldr:<version of Cargo.toml>
#
# 1. the statically linked release binary: only the x86_64-unknown-linux-gnu target is needed (no
#    musl): glibc linked with +crt-static. `--target` keeps RUSTFLAGS off build scripts and proc
#    macros, which must stay dynamic. Incremental: a second run reuses target/.
# 2. a build context holding just that binary and the host's CA bundle;
# 3. `podman build` with the vfs storage driver (no overlay/fuse needed) and runc (crun fails on
#    these machines on RLIMIT and on the hybrid cgroup mode).
#
# Prints the image name on stdout (and nothing else); progress goes to stderr.
# Environment: CONTAINERS_CONF (default: a containers.conf with `default_ulimits = []`, written here),
# VELDR_IMAGE_STORAGE=vfs, CARGO_TARGET_DIR (default target/).
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
image="${1:-veldr:$version}"
triple=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"

command -v podman >/dev/null 2>&1 || { echo "image.sh: podman is not installed (apt-get install podman runc)" >&2; exit 1; }
bundle=/etc/ssl/certs/ca-certificates.crt
[[ -s "$bundle" ]] || { echo "image.sh: no CA bundle at $bundle (apt-get install ca-certificates)" >&2; exit 1; }

# Run from a test (`cargo test` → tests/image.rs → here), cargo's per-crate variables and its
# LD_LIBRARY_PATH would reach this nested cargo and, measured, make it rebuild everything (~4 min).
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(CARGO|CARGO_(PKG|MANIFEST|BIN_EXE|CRATE|TARGET_TMPDIR)[A-Za-z0-9_]*|LD_LIBRARY_PATH)$' || true)

echo "==> static release binary (cargo build --release --target $triple, +crt-static)" >&2
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$triple" --bin veldr >&2
bin="$target_dir/$triple/release/veldr"
# A dynamically linked binary would build an image that cannot start: refuse it here, not at run time.
if file "$bin" 2>/dev/null | grep -q "dynamically linked"; then
  echo "image.sh: $bin is dynamically linked" >&2; exit 1
fi

ctx="$(mktemp -d)"
conf="$(mktemp)"
trap 'rm -rf "$ctx" "$conf"' EXIT
cp "$bin" "$ctx/veldr"
cp "$bundle" "$ctx/ca-certificates.crt"
cp Containerfile "$ctx/Containerfile"
if [[ -z "${CONTAINERS_CONF:-}" ]]; then
  printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' > "$conf"
  export CONTAINERS_CONF="$conf"
fi

echo "==> podman build -t $image" >&2
podman --storage-driver "${VELDR_IMAGE_STORAGE:-vfs}" build --runtime runc -q -t "$image" -f "$ctx/Containerfile" "$ctx" >&2
echo "$image"
