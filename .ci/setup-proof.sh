#!/usr/bin/env bash
# Proof that the README's test command sets the machine up by itself (issue 24, item 1), with the real
# Debian package manager, on a throwaway copy of this machine:
#
#   an overlay of / (upper layer on a tmpfs) in a private mount namespace, entered with chroot: whatever
#   apt and dpkg do in there never reaches the real system, and ends with this script.
#
# In that copy the package of one tool (default: promtool, Debian's `prometheus`) is removed with dpkg, so
# the tool is gone from PATH. Then:
#   1. as an unprivileged user (65534), `bash scripts/test.sh` must exit 1 before running anything
#      (no lab started, no cargo) and print the one install line naming the package;
#   2. as root, `bash scripts/test.sh --setup-only` must run apt-get update, install the package and exit 0,
#      and the tool must run again.
#
#   bash .ci/setup-proof.sh [TOOL PACKAGE]
#
# Needs root, overlayfs, util-linux (unshare, setpriv) and Debian's mirrors. CI (a fresh Debian machine, as
# root) runs it after `scripts/test.sh --setup-only` has set the real machine up.
set -euo pipefail
cd "$(dirname "$0")/.."
tool="${1:-promtool}"
pkg="${2:-prometheus}"

if [[ $EUID -ne 0 ]]; then
  echo "setup-proof: needs root (a private mount namespace and a chroot)" >&2
  exit 1
fi
work="$(mktemp -d /tmp/veldr-setup-proof.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The repository's scripts, as test.sh sees them, copied into the throwaway root (a clone under /root is not
# readable by the unprivileged user, and the copy keeps the real checkout out of reach).
tar -cf "$work/repo.tar" scripts lab Cargo.toml

unshare --mount --propagation private bash -s -- "$work" "$tool" "$pkg" <<'INNER'
set -euo pipefail
work="$1"; tool="$2"; pkg="$3"
# The overlay's upper layer on its own tmpfs: an upper directory may not live inside the lower layer (/).
mkdir -p "$work/mnt"
mount -t tmpfs -o size=4g veldr-setup-proof "$work/mnt"
mkdir -p "$work/mnt/upper" "$work/mnt/work" "$work/mnt/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/mnt/upper,workdir=$work/mnt/work" "$work/mnt/root"
root="$work/mnt/root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/tmp"
mkdir -p "$root/tmp/repo"
tar -xf "$work/repo.tar" -C "$root/tmp/repo"
chmod -R a+rX "$root/tmp/repo"
# No service started by a package's maintainer scripts inside the copy (prometheus' postinst would).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

in_copy() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

echo "==> setup-proof: in a throwaway copy of this machine, remove $pkg (dpkg -r): $tool is gone" >&2
if in_copy dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
  in_copy dpkg -r "$pkg" >/dev/null
fi
if in_copy sh -c "command -v $tool" >/dev/null; then
  echo "setup-proof: FAILED: $tool is still on PATH after removing $pkg" >&2; exit 1
fi

echo "==> setup-proof: as user 65534, bash scripts/test.sh must refuse before running anything" >&2
set +e
in_copy setpriv --reuid=65534 --regid=65534 --clear-groups \
  env VELDR_LAB_DIR=/tmp/proof-lab HOME=/tmp bash /tmp/repo/scripts/test.sh >"$work/mnt/out" 2>"$work/mnt/err"
rc=$?
set -e
cat "$work/mnt/err" "$work/mnt/out" | sed 's/^/    | /' >&2
fail() { echo "setup-proof: FAILED: $*" >&2; exit 1; }
[[ $rc -eq 1 ]] || fail "test.sh as a user exited $rc, not 1"
[[ "$(wc -l <"$work/mnt/out")" -eq 1 ]] || fail "stdout is not one install line"
grep -Eq "^sudo apt-get update && sudo apt-get install .*\b$pkg\b" "$work/mnt/out" || fail "the install line does not name $pkg"
! grep -q "==> starting the Keystone" "$work/mnt/err" || fail "the lab was started"
[[ ! -e "$root/tmp/proof-lab" ]] || fail "the lab directory was created"

echo "==> setup-proof: as root, bash scripts/test.sh --setup-only must bring $tool back from Debian" >&2
if ! in_copy env VELDR_LAB_DIR=/tmp/proof-lab bash /tmp/repo/scripts/test.sh --setup-only 2>&1 | sed 's/^/    | /' >&2; then
  fail "test.sh --setup-only as root failed"
fi
in_copy sh -c "command -v $tool" >/dev/null || fail "$tool is not back on PATH"
in_copy "$tool" --version >"$work/mnt/version" 2>&1 || fail "$tool does not run"
head -1 "$work/mnt/version" | sed 's/^/    | /' >&2
[[ ! -e "$root/tmp/proof-lab" ]] || fail "--setup-only started the lab"
echo "==> setup-proof: ok: $tool was missing, test.sh as a user printed the install line and ran nothing, as root it installed $pkg" >&2
INNER
