#!/usr/bin/env bash
# The checks veldr automates, done the way a responder does them by hand: one command at a time,
# reading each answer before the next step. Needs KUBECONFIG; KUBECTL (default: kubectl), SWIFT
# (default: swift) and KUBECTL_CACHE (kubectl's discovery cache; a warm one, as on a responder's
# laptop) may be set. Exits non-zero, saying where, if a step does not give what it should.
#
# What it covers (the runbook's core, not everything veldr checks):
#   kubectl: BSL (phase, bucket), VolumeSnapshotClasses (Velero label), namespace (Pod Security
#   labels), the velero Deployment (envFrom secret, plugin init container), the credentials secret;
#   curl: a Keystone token with the secret's application credential;
#   swift: `swift stat` on the BSL's container (temp-URL key metadata), `swift tempurl` signed with the
#   secret's key and digest, and curl of that URL (404 = signature accepted, 401 = rejected).
#
# `bash bench/hand.sh --kube-only` stops after the kubectl steps (the Kubernetes half, for comparing
# phases).
set -euo pipefail
KUBE_ONLY=false; [[ ${1:-} == --kube-only ]] && KUBE_ONLY=true
NS=${VELERO_NAMESPACE:-velero}
KUBECTL=${KUBECTL:-kubectl}
SWIFT=${SWIFT:-swift}
k() { "$KUBECTL" ${KUBECTL_CACHE:+--cache-dir "$KUBECTL_CACHE"} "$@"; }
fail() { echo "hand.sh: $*" >&2; exit 1; }

# 1. The BSL: is it Available, which container?
bsl=$(k -n "$NS" get backupstoragelocations.velero.io -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase} {.spec.objectStorage.bucket} {.spec.default}{"\n"}{end}')
bucket=$(awk '$4 == "true" {print $3}' <<<"$bsl")
[[ -n $bucket ]] || bucket=$(awk 'NR == 1 {print $3}' <<<"$bsl")
grep -q ' Available ' <<<"$bsl" || fail "no Available BSL: $bsl"

# 2. VolumeSnapshotClasses: one labelled for Velero per driver.
vsc=$(k get volumesnapshotclasses.snapshot.storage.k8s.io -o jsonpath='{range .items[*]}{.metadata.name} {.driver} {.metadata.labels.velero\.io/csi-volumesnapshot-class}{"\n"}{end}')
grep -q ' true$' <<<"$vsc" || fail "no VolumeSnapshotClass labelled velero.io/csi-volumesnapshot-class=true"

# 3. The namespace: Pod Security level (node-agent needs privileged).
k get namespace "$NS" -o jsonpath='{.metadata.labels}' >/dev/null

# 4. The Deployment: which secret reaches the velero container, is the plugin there?
read -r secret images < <(k -n "$NS" get deployment velero -o jsonpath='{.spec.template.spec.containers[?(@.name=="velero")].envFrom[*].secretRef.name} {.spec.template.spec.initContainers[*].image}{"\n"}')
[[ -n $secret ]] || fail "the velero container reads no secret through envFrom"
grep -q 'velero-plugin-for-openstack' <<<"$images" || fail "no OpenStack plugin init container"

# 5. The secret's OS_* values.
env_text=$(k -n "$NS" get secret "$secret" -o go-template='{{range $k, $v := .data}}{{$k}}={{$v | base64decode}}{{"\n"}}{{end}}')
val() { grep -m1 "^$1=" <<<"$env_text" | cut -d= -f2-; }
OS_AUTH_URL=$(val OS_AUTH_URL)
OS_APPLICATION_CREDENTIAL_ID=$(val OS_APPLICATION_CREDENTIAL_ID)
OS_APPLICATION_CREDENTIAL_SECRET=$(val OS_APPLICATION_CREDENTIAL_SECRET)
OS_REGION_NAME=$(val OS_REGION_NAME)
KEY=$(val OS_SWIFT_TEMP_URL_KEY)
DIGEST=$(val OS_SWIFT_TEMP_URL_DIGEST)
DIGEST=${DIGEST:-sha1}
[[ -n $OS_AUTH_URL && -n $OS_APPLICATION_CREDENTIAL_ID ]] || fail "the secret lacks OS_AUTH_URL or the application credential"
if $KUBE_ONLY; then echo "hand.sh: kubectl steps ok"; exit 0; fi
export OS_AUTH_URL OS_APPLICATION_CREDENTIAL_ID OS_APPLICATION_CREDENTIAL_SECRET OS_REGION_NAME
export OS_AUTH_TYPE=v3applicationcredential OS_IDENTITY_API_VERSION=3

# 6. A Keystone token with that application credential.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${OS_AUTH_URL%/}/auth/tokens" -H 'Content-Type: application/json' \
  -d "{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],\"application_credential\":{\"id\":\"$OS_APPLICATION_CREDENTIAL_ID\",\"secret\":\"$OS_APPLICATION_CREDENTIAL_SECRET\"}}}}")
[[ $code == 201 ]] || fail "Keystone answered $code to the token request"

# 7. The container: exists, readable, which temp-URL keys (and the storage URL).
stat=$("$SWIFT" --os-auth-type v3applicationcredential --os-region-name "$OS_REGION_NAME" stat -v "$bucket")
url=$(awk '$1 == "URL:" {print $2}' <<<"$stat")
[[ -n $url ]] || fail "swift stat $bucket printed no URL"
grep -qi 'Temp-Url-Key' <<<"$stat" || echo "hand.sh: note: the container has no temp-URL key (the account's may be used)" >&2

# 8. A temp URL signed as the plugin signs it, and Swift's answer (the object does not exist: 404 = accepted).
host=${url%%/v1/*}
path="/v1/${url#*/v1/}/veldr-probe/does-not-exist"
signed=$("$SWIFT" tempurl --digest "$DIGEST" GET 300 "$path" "$KEY")
code=$(curl -s -o /dev/null -w '%{http_code}' "$host$signed")
[[ $code == 404 ]] || fail "the temp URL was answered $code (401: the key or digest is not accepted)"
echo "hand.sh: ok (BSL $bucket available, token issued, container readable, temp URL accepted)"
