#!/usr/bin/env bash
# The benchmark of BENCHMARKS.md, in one command:
#
#   bash bench/run.sh [--runs N]      (default 20 hyperfine runs per command in the head-to-head)
#   bash bench/run.sh --floor-only [--floor-pairs N]   (only section 5: veldr against the floor)
#
# Installs what it needs (Debian's hyperfine and time; the lab's venv), builds the release binaries,
# starts the Keystone + Swift lab if it is not running (and leaves it running: others may use it),
# then runs bench/bench.py, which prints the tables (also in target/bench/report.md, raw numbers in
# target/bench/results.json), the last one veldr's wall time as a ratio to the floor measured in the
# same run (1x, 10x, 100x; 0, 25 and 100 ms per API request). About 6 minutes after the build on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v hyperfine >/dev/null 2>&1 || need_apt+=(hyperfine)
[[ -x /usr/bin/time ]] || need_apt+=(time)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v kubectl >/dev/null 2>&1 || [[ -n ${KUBECTL:-} ]] || need_apt+=(kubernetes-client)
if ((${#need_apt[@]})); then
  echo "==> apt-get install ${need_apt[*]}" >&2
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "==> cargo build --release (veldr, fixture-apiserver)" >&2
cargo build --release -q -p veldr -p fixture-apiserver

export VELDR_LAB_DIR="${VELDR_LAB_DIR:-/tmp/veldr-lab}"
export VELDR_LAB="${VELDR_LAB:-$VELDR_LAB_DIR/lab.json}"
if [[ -f $VELDR_LAB ]] && bash lab/lab.sh status >/dev/null 2>&1; then
  echo "==> the Keystone + Swift lab is running ($VELDR_LAB)" >&2
else
  echo "==> starting the Keystone + Swift lab (left running afterwards; bash lab/lab.sh stop)" >&2
  bash lab/lab.sh install >&2
  bash lab/lab.sh start >/dev/null
fi

echo "==> load average: $(cut -d' ' -f1-3 /proc/loadavg) (numbers are noisy while other work runs)" >&2
exec python3 bench/bench.py "$@"
