#!/usr/bin/env bash
# The whole test suite, on a machine that has Rust and nothing else:
#   1. set-up: what the tests need beyond Rust (the table below). Missing ones are installed from Debian
#      when this runs as root (apt-get update first); as another user it prints the one install line and
#      exits 1 before running anything;
#   2. starts the real Keystone + Swift lab (installed from PyPI into a cached venv, lab/lab.sh);
#   3. runs every test of the workspace against it and the in-repo API server; stops the lab.
#
#   bash scripts/test.sh [--setup-only] [cargo test arguments]
#
# --setup-only stops after step 1 (.ci/run uses it to install podman before building the image).
# Environment: VELDR_LAB_DIR (default /tmp/veldr-lab), VELDR_LAB_PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

setup_only=false
if [[ "${1:-}" == --setup-only ]]; then
  setup_only=true
  shift
fi

# What the tests need: a command (or a file, when it starts with /), the Debian package that has it, and why.
NEEDS=(
  "curl|curl|a lab test fetches a signed URL (tests/tempurl_cli.rs)"
  "promtool|prometheus|the metrics and the README's alert rules are linted by promtool"
  "podman|podman|tests/image.rs builds the image and runs it as a pod would"
  "runc|runc|podman's runtime here (crun fails on RLIMITs and the hybrid cgroup mode)"
  "/etc/ssl/certs/ca-certificates.crt|ca-certificates|the CA bundle the image ships"
  "file|file|scripts/image.sh refuses a dynamically linked binary"
  "man|man-db|tests/completions.rs renders the man pages with man -l"
  "kubectl|kubernetes-client|tests/kubectl_plugin.rs runs veldr through kubectl's plugin discovery"
  "kill|procps|tests/serve.rs sends SIGTERM and SIGINT to veldr serve"
  "python3 -m venv|python3-venv|the lab's virtualenv (lab/lab.sh)"
)

lab_python="${VELDR_LAB_PYTHON:-python3}"

# True when the need is met: a file that exists, a command on PATH; `python3 -m venv` needs python3 with venv
# and ensurepip (Debian splits them into python3-venv).
have() {
  case "$1" in
    /*) [[ -s "$1" ]] ;;
    "python3 -m venv") command -v "$lab_python" >/dev/null 2>&1 && "$lab_python" -c 'import venv, ensurepip' >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing_packages() {
  local need what pkg why
  for need in "${NEEDS[@]}"; do
    IFS='|' read -r what pkg why <<<"$need"
    have "$what" || printf '%s\n' "$pkg"
  done
}

setup() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]})) || return 0
  local need what pkg why
  echo "==> set-up: missing for the tests:" >&2
  for need in "${NEEDS[@]}"; do
    IFS='|' read -r what pkg why <<<"$need"
    have "$what" || echo "      $what (Debian package $pkg): $why" >&2
  done
  local install="apt-get install -y --no-install-recommends ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get here: install the packages above with your system's package manager (Debian names them so), then run this again" >&2
    exit 1
  fi
  if [[ $EUID -ne 0 ]]; then
    echo "error: not root, so nothing is installed and nothing was run. Install them with:" >&2
    echo "sudo apt-get update && sudo $install"
    exit 1
  fi
  echo "==> set-up: apt-get update && $install" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (a second run, unattended-upgrades) may hold the lock: wait for it rather than fail.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  # --reinstall: a tool can be missing although its package is installed (deleted by hand); a package
  # that is not installed is simply installed.
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends --reinstall "${missing[@]}" >/dev/null
  local still=()
  for need in "${NEEDS[@]}"; do
    IFS='|' read -r what pkg why <<<"$need"
    have "$what" || still+=("$what ($pkg)")
  done
  if ((${#still[@]})); then
    echo "error: still missing after apt-get install: ${still[*]}" >&2
    exit 1
  fi
  echo "==> set-up: installed ${missing[*]}" >&2
}

setup
if $setup_only; then
  exit 0
fi

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
