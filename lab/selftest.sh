#!/usr/bin/env bash
# Self-test of the veldr lab: checks the real Keystone + Swift behave as the tests expect.
# Uses a running lab if `lab.sh status` says so, else starts one (and stops it at the end).
# Exits non-zero on any mismatch. Options: --keep (leave a lab it started running),
# --no-restart (skip the swift-stop/swift-start check).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_SH="$HERE/lab.sh"
VENV="${VELDR_LAB_VENV:-$HOME/.cache/veldr-lab/venv}"
export VELDR_LAB_DIR="${VELDR_LAB_DIR:-/tmp/veldr-lab}"
KEEP=0; RESTART=1
for a in "$@"; do
  case "$a" in
    --keep) KEEP=1 ;;
    --no-restart) RESTART=0 ;;
    *) echo "usage: $0 [--keep] [--no-restart]" >&2; exit 2 ;;
  esac
done

STARTED=0
if ! bash "$LAB_SH" status >/dev/null 2>&1; then
  bash "$LAB_SH" start >/dev/null || { echo "selftest: lab failed to start" >&2; exit 1; }
  STARTED=1
fi
cleanup() { if [[ $STARTED == 1 && $KEEP == 0 ]]; then bash "$LAB_SH" stop; fi; }
trap cleanup EXIT

# shellcheck disable=SC1091
source "$VELDR_LAB_DIR/lab.env"
SWIFT="$VENV/bin/swift"
PY="$VENV/bin/python"
PASS=0; FAIL=0
ok()   { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $1${2:+ :: $2}"; }
check() { # name expected actual [detail]
  if [[ "$2" == "$3" ]]; then ok "$1"; else bad "$1" "want '$2', got '$3'${4:+ ($4)}"; fi
}

TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"; cleanup' EXIT
# status code of a curl request; body in $TMP/body, headers in $TMP/hdr
code() { curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$@"; }
appcred_body() { printf '{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"%s","secret":"%s"}}}}' "$1" "$2"; }
token_for() { # id secret -> prints token, sets $TOKEN_CODE via file
  code -X POST -H 'Content-Type: application/json' -d "$(appcred_body "$1" "$2")" "$LAB_KEYSTONE_URL/auth/tokens" > "$TMP/tcode"
  tr -d '\r' < "$TMP/hdr" | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}'
}
OBJ_PATH="/v1/$LAB_ACCOUNT/$LAB_CONTAINER/$LAB_OBJECT"
MISSING_PATH="/v1/$LAB_ACCOUNT/$LAB_CONTAINER/backups/does-not-exist"
tempurl() { # digest base path key -> full URL
  "$SWIFT" tempurl --digest "$1" GET 600 "$2$3" "$4"
}

# --- Keystone ---------------------------------------------------------------
TOKEN="$(token_for "$LAB_APPCRED_ID" "$LAB_APPCRED_SECRET")"
check "app credential token: POST /v3/auth/tokens" 201 "$(cat "$TMP/tcode")"
[[ -n "$TOKEN" ]] && ok "token in X-Subject-Token" || bad "token in X-Subject-Token"
regions="$("$PY" -c '
import json,sys
b=json.load(open(sys.argv[1]))
print(" ".join(sorted({e["region_id"] for c in b["token"]["catalog"] if c["type"]=="object-store" for e in c["endpoints"]})))' "$TMP/body")"
check "catalog object-store regions" "RegionOne RegionTwo" "$regions"

token_for "$LAB_APPCRED_EXPIRING_ID" "$LAB_APPCRED_EXPIRING_SECRET" >/dev/null
check "expiring app credential token" 201 "$(cat "$TMP/tcode")"

token_for "$LAB_APPCRED_DELETED_ID" "$LAB_APPCRED_DELETED_SECRET" >/dev/null
check "deleted app credential -> 404" 404 "$(cat "$TMP/tcode")"

first="${LAB_APPCRED_SECRET:0:1}"; [[ "$first" == "x" ]] && repl=y || repl=x
token_for "$LAB_APPCRED_ID" "${repl}${LAB_APPCRED_SECRET:1}" >/dev/null
check "wrong secret (first char changed) -> 401" 401 "$(cat "$TMP/tcode")"

check "GET keystone root -> 300" 300 "$(code "$LAB_KEYSTONE_ROOT/")"

# --- Swift temp URLs ----------------------------------------------------------
url="$(tempurl sha256 "$LAB_SWIFT_A" "$OBJ_PATH" "$LAB_CONTAINER_KEY")"
check "sha256 temp URL (container key) on A -> 200" 200 "$(code "$url")"
check "temp URL body" "$LAB_OBJECT_BODY" "$(cat "$TMP/body")"
check "HEAD with a GET signature -> 200" 200 "$(code -I "$url")"

url="$(tempurl sha512 "$LAB_SWIFT_A" "$OBJ_PATH" "$LAB_ACCOUNT_KEY")"
check "sha512 temp URL (account key) on A -> 200" 200 "$(code "$url")"

url="$(tempurl sha256 "$LAB_SWIFT_A" "$OBJ_PATH" "wrong-$LAB_CONTAINER_KEY")"
check "wrong key on A -> 401" 401 "$(code "$url")"
check "wrong key body" "401 Unauthorized: Temp URL invalid" "$(tr -d '\r\n' < "$TMP/body")"

url="$(tempurl sha256 "$LAB_SWIFT_A" "$MISSING_PATH" "$LAB_CONTAINER_KEY")"
check "valid signature, missing object -> 404" 404 "$(code "$url")"

url="$(tempurl sha1 "$LAB_SWIFT_A" "$OBJ_PATH" "$LAB_CONTAINER_KEY")"
check "sha1 temp URL on A (sha1 not allowed) -> 401" 401 "$(code "$url")"
check "sha1 on A body" "401 Unauthorized: Temp URL invalid" "$(tr -d '\r\n' < "$TMP/body")"
url="$(tempurl sha1 "$LAB_SWIFT_B" "$OBJ_PATH" "$LAB_CONTAINER_KEY")"
check "sha1 temp URL on B -> 200" 200 "$(code "$url")"
url="$(tempurl sha1 "$LAB_SWIFT_B" "$MISSING_PATH" "$LAB_CONTAINER_KEY")"
check "sha1 temp URL on B, missing object -> 404" 404 "$(code "$url")"

url="$(tempurl sha256 "$LAB_SWIFT_A" "/v1/$LAB_ACCOUNT/$LAB_CONTAINER_KEY2ONLY/missing" "$LAB_CONTAINER_KEY2")"
check "Key-2 of key2only container signs (missing object) -> 404" 404 "$(code "$url")"

# --- /info ---------------------------------------------------------------------
check "GET /info on A -> 200" 200 "$(code "$LAB_SWIFT_A/info")"
digests="$("$PY" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["tempurl"]["allowed_digests"]))' "$TMP/body" 2>&1)"
check "A tempurl.allowed_digests" "sha256 sha512" "$digests"
check "GET /info on B -> 403" 403 "$(code "$LAB_SWIFT_B/info")"

# --- Swift with tokens -------------------------------------------------------
hdr="$(code -I -H "X-Auth-Token: $TOKEN" "$LAB_SWIFT_A/v1/$LAB_ACCOUNT")"
check "HEAD account as user -> 204" 204 "$hdr"
acct_key="$(tr -d '\r' < "$TMP/hdr" | awk -F': ' 'tolower($1)=="x-account-meta-temp-url-key"{print $2}')"
check "user sees X-Account-Meta-Temp-Url-Key" "$LAB_ACCOUNT_KEY" "$acct_key"
code -I -H "X-Auth-Token: $TOKEN" "$LAB_SWIFT_A/v1/$LAB_ACCOUNT/$LAB_CONTAINER" >/dev/null
ckey="$(tr -d '\r' < "$TMP/hdr" | awk -F': ' 'tolower($1)=="x-container-meta-temp-url-key"{print $2}')"
check "user sees X-Container-Meta-Temp-Url-Key" "$LAB_CONTAINER_KEY" "$ckey"

RTOKEN="$(token_for "$LAB_READER_APPCRED_ID" "$LAB_READER_APPCRED_SECRET")"
check "reader app credential token" 201 "$(cat "$TMP/tcode")"
check "HEAD container as reader -> 403" 403 "$(code -I -H "X-Auth-Token: $RTOKEN" "$LAB_SWIFT_A/v1/$LAB_ACCOUNT/$LAB_CONTAINER")"
check "request without token -> 401" 401 "$(code -I "$LAB_SWIFT_A/v1/$LAB_ACCOUNT/$LAB_CONTAINER")"

# --- python-swiftclient with the app credential, region by region --------------
for region in "$LAB_REGION_A" "$LAB_REGION_B"; do
  out="$("$SWIFT" --os-auth-type v3applicationcredential --os-auth-url "$LAB_KEYSTONE_URL" \
      --os-application-credential-id "$LAB_APPCRED_ID" \
      --os-application-credential-secret "$LAB_APPCRED_SECRET" \
      --os-region-name "$region" list 2>&1)"
  check "swift list via app credential ($region)" \
    "$LAB_CONTAINER $LAB_CONTAINER_KEY2ONLY $LAB_CONTAINER_NOKEY" "$(echo $out | tr '\n' ' ' | xargs -n1 | sort | xargs)"
done

# --- Swift down / up ---------------------------------------------------------
if [[ $RESTART == 1 ]]; then
  bash "$LAB_SH" swift-stop
  c="$(code -m 3 "$LAB_SWIFT_A/healthcheck")"
  check "after swift-stop proxy A refuses (curl 000)" 000 "$c"
  check "after swift-stop keystone still up" 200 "$(code "$LAB_KEYSTONE_URL")"
  bash "$LAB_SH" swift-start || bad "swift-start"
  check "after swift-start proxy A healthcheck" 200 "$(code "$LAB_SWIFT_A/healthcheck")"
  check "after swift-start proxy B healthcheck" 200 "$(code "$LAB_SWIFT_B/healthcheck")"
  url="$(tempurl sha256 "$LAB_SWIFT_A" "$OBJ_PATH" "$LAB_CONTAINER_KEY")"
  check "temp URL after restart -> 200" 200 "$(code "$url")"
  bash "$LAB_SH" status >/dev/null && ok "status after restart" || bad "status after restart"
fi

echo "selftest: $PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
