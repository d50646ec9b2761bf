#!/usr/bin/env bash
# veldr test lab: a real Keystone + a real Swift (two proxies) on 127.0.0.1.
# Usage: lab/lab.sh install|start|stop|status|swift-stop|swift-start
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VELDR_LAB_VENV:-$HOME/.cache/veldr-lab/venv}"
export VELDR_LAB_DIR="${VELDR_LAB_DIR:-/tmp/veldr-lab}"
PYTHON_BIN="${VELDR_LAB_PYTHON:-python3}"

# Pinned requirement list. Changing it invalidates the stamp and reinstalls.
REQS=(
  keystone==30.0.0
  swift==2.38.3
  keystonemiddleware==13.0.1
  python-swiftclient==4.11.0
  gunicorn==27.0.1
  prometheus-client==0.21.1
  # tests/junit.rs: the JUnit schema validation and an independent JUnit reader.
  lxml==6.1.3
  junitparser==5.0.3
  # not the lab's: tests/schema.rs validates reports with it (Draft 2020-12), independently of veldr
  jsonschema==4.26.0
)
STAMP="$VENV/.veldr-lab-stamp"

want_stamp() { printf '%s\n' "$($PYTHON_BIN -c 'import sys;print(sys.version.split()[0])')" "${REQS[@]}"; }

do_install() {
  if [[ -x "$VENV/bin/python" && -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(want_stamp)" ]]; then
    return 0
  fi
  echo "lab: installing into $VENV (one-time, ~30 s)..." >&2
  local t0=$SECONDS
  mkdir -p "$(dirname "$VENV")"
  rm -f "$STAMP"
  [[ -x "$VENV/bin/python" ]] || "$PYTHON_BIN" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQS[@]}" >&2
  want_stamp > "$STAMP"
  echo "lab: installed in $((SECONDS - t0)) s" >&2
}

cmd="${1:-}"
case "$cmd" in
  install)
    do_install ;;
  start)
    do_install
    exec "$VENV/bin/python" "$HERE/labctl.py" start ;;
  stop|status|swift-stop|swift-start)
    if [[ ! -x "$VENV/bin/python" ]]; then
      # No venv: nothing can be running from us, except for stop which is a no-op.
      [[ "$cmd" == stop ]] && exit 0
      echo "lab: venv $VENV missing; run '$0 install' or '$0 start'" >&2; exit 1
    fi
    exec "$VENV/bin/python" "$HERE/labctl.py" "$cmd" ;;
  *)
    echo "usage: $0 install|start|stop|status|swift-stop|swift-start" >&2
    exit 2 ;;
esac
