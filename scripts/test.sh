#!/usr/bin/env bash
# The whole test suite: starts the real Keystone + Swift lab (installed from PyPI into a cached
# venv), runs every test of the workspace against it and the in-repo API server, stops the lab.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

export VELDR_LAB_DIR="${VELDR_LAB_DIR:-/tmp/veldr-lab}"
export VELDR_LAB="$VELDR_LAB_DIR/lab.json"

echo "==> starting the Keystone + Swift lab in $VELDR_LAB_DIR" >&2
if ! bash lab/lab.sh start >/dev/null; then
  echo "error: the Keystone + Swift lab did not start (see the messages above); the lab tests cannot run" >&2
  exit 1
fi
trap 'bash lab/lab.sh stop >/dev/null 2>&1 || true' EXIT

echo "==> cargo test --workspace" >&2
cargo test --workspace --no-fail-fast "$@"
