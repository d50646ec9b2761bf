#!/usr/bin/env python3
"""Fixture clusters for the benchmark, built on tests/fixtures/clusters/healthy/.

    python3 bench/gen_scale.py --out DIR [--scale N] [--lab /tmp/veldr-lab/lab.json]

Without --scale: healthy/ as it is (the head-to-head cluster). With --scale N, healthy/ plus
generated objects up to these totals (N = 100 is the issue's "100x"):

    namespaces                      3N   (healthy's velero, shop, vmware-system-csi + app-NNNN;
                                          the server adds default, kube-system, kube-public, kube-node-lease)
    PersistentVolumeClaims + PVs    30N each (CSI, bound, in shop and the app namespaces)
    Backups                         20N  (Completed, spread over the schedules, newest first per schedule)
    Schedules                       max(1, N/2)
    Restores                        2N   (Completed restore drills, one every 12h back in time: Velero keeps
                                          them until their backups expire)
    BackupStorageLocations          max(1, N/5) (all Available; the extra ones share the container
                                                 under a prefix of their own)
    Deployments                     one per app namespace (veldr lists Deployments cluster-wide)

With --lab: Velero's secret `cloud-credentials` and the BSL bucket point at the real Keystone +
Swift lab exactly as tests/fixtures/clusters/lab-healthy/_expect.yaml says (the same `{a.b}`
placeholders from lab.json that tests/common/mod.rs fills), so every check can pass.

The output directory holds `_server.yaml` (copied) and `objects-NNNN.yaml` (JSON documents, 1,000 a
file: the server's YAML reader takes at most 1,024 documents per file); `${NOW-2h}`
placeholders are left for the fixture API server to substitute. Prints a JSON summary of the counts.
"""
import argparse
import json
import os
import sys
from pathlib import Path

try:
    import yaml
except ImportError:  # a fresh machine's python3 may lack PyYAML; the lab's venv has it
    venv = os.environ.get("VELDR_LAB_VENV", os.path.expanduser("~/.cache/veldr-lab/venv"))
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py) and not os.environ.get("GEN_SCALE_REEXEC"):
        os.environ["GEN_SCALE_REEXEC"] = "1"
        os.execv(py, [py] + sys.argv)
    sys.exit("gen_scale.py needs PyYAML (pip install pyyaml, or `bash lab/lab.sh install`)")

REPO = Path(__file__).resolve().parent.parent
CLUSTERS = REPO / "tests" / "fixtures" / "clusters"
CHUNK = 1000


def yaml_docs(path):
    out = []
    for d in yaml.safe_load_all(path.read_text()):
        if d is None:
            continue
        if d.get("kind") == "List":
            out.extend(d.get("items") or [])
        else:
            out.append(d)
    return out


def objects_in(d):
    files = sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_"))
    return [o for f in files for o in yaml_docs(f)]


def fill(template, lab):
    """`{a.b.c}` placeholders from lab.json (as tests/common/mod.rs `fill`, without `|flip`)."""
    out = template
    while "{" in out:
        start = out.index("{")
        end = out.find("}", start)
        if end < 0:
            break
        path = out[start + 1:end]
        v = lab
        for part in path.split("."):
            v = v[part]
        out = out[:start] + (v if isinstance(v, str) else json.dumps(v)) + out[end + 1:]
    return out


def point_at_lab(objects, lab):
    expect = yaml.safe_load((CLUSTERS / "lab-healthy" / "_expect.yaml").read_text())
    env = {k: fill(v, lab) for k, v in expect["lab"].items()}
    bucket = fill(expect["bucket"], lab) if expect.get("bucket") else None
    for o in objects:
        kind, name = o.get("kind"), o.get("metadata", {}).get("name")
        if kind == "Secret" and name == "cloud-credentials":
            o.pop("data", None)
            o["stringData"] = dict(env)
        if kind == "BackupStorageLocation" and bucket:
            o["spec"]["objectStorage"]["bucket"] = bucket


def find(objects, kind, name):
    return next(o for o in objects if o.get("kind") == kind and o["metadata"]["name"] == name)


def generate(objects, n):
    """Adds objects to healthy/'s until the totals of the docstring are reached."""
    bsl0 = find(objects, "BackupStorageLocation", "default")
    sched0 = find(objects, "Schedule", "daily")
    backup0 = next(o for o in objects if o.get("kind") == "Backup")
    pv0 = next(o for o in objects if o.get("kind") == "PersistentVolume")
    pvc0 = next(o for o in objects if o.get("kind") == "PersistentVolumeClaim")

    def count(kind):
        return sum(1 for o in objects if o.get("kind") == kind)

    def copy(o):
        return json.loads(json.dumps(o))

    # Namespaces: healthy/ writes out velero, shop and vmware-system-csi.
    apps = [f"app-{i:04d}" for i in range(3 * n - count("Namespace"))]
    for i, ns in enumerate(apps):
        objects.append({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "creationTimestamp": f"${{NOW-{10 + i % 300}d}}",
                         "labels": {"kubernetes.io/metadata.name": ns, "team": f"team-{i % 17}"}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"},
        })
        objects.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns, "generation": 1, "creationTimestamp": f"${{NOW-{10 + i % 300}d}}",
                         "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1.4.2",
                                                           "ports": [{"containerPort": 8080}],
                                                           "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                                           "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}}]}}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                       "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                       "lastTransitionTime": "${NOW-9d}", "lastUpdateTime": "${NOW-9d}"}]},
        })

    # BSLs: the extra ones share the lab container, each under its own prefix.
    bsls = [bsl0]
    for i in range(1, max(1, n // 5)):
        b = copy(bsl0)
        b["metadata"]["name"] = f"site-{i:02d}"
        b["spec"]["default"] = False
        b["spec"]["objectStorage"]["prefix"] = f"cluster-{i:02d}"
        objects.append(b)
        bsls.append(b)

    # Schedules, each on a BSL in turn.
    schedules = [sched0]
    for i in range(1, max(1, n // 2)):
        s = copy(sched0)
        s["metadata"]["name"] = f"ns-group-{i:02d}"
        s["spec"]["schedule"] = "0 */12 * * *"
        # A week of twice-daily backups keeps 14 snapshots per volume: within healthy/'s vSphere limit (32).
        s["spec"]["template"]["ttl"] = "168h0m0s"
        s["spec"]["template"]["includedNamespaces"] = [a for a in apps[i::max(1, n // 2)]][:20] or ["shop"]
        s["spec"]["template"]["storageLocation"] = bsls[i % len(bsls)]["metadata"]["name"]
        s["status"]["lastBackup"] = "${NOW-1h}"
        objects.append(s)
        schedules.append(s)

    # Backups: older ones of every schedule, round robin, until 20N in all.
    existing = count("Backup")
    per = {s["metadata"]["name"]: 0 for s in schedules}
    for k in range(20 * n - existing):
        s = schedules[k % len(schedules)]
        name = s["metadata"]["name"]
        per[name] += 1
        # daily has three newest backups already (2h, 26h, 50h ago); the others start 1h ago.
        hours = 50 + 24 * per[name] if name == "daily" else 1 + 12 * (per[name] - 1)
        b = copy(backup0)
        b["metadata"]["name"] = f"{name}-gen-{per[name]:05d}"
        b["metadata"]["creationTimestamp"] = f"${{NOW-{hours}h}}"
        b["metadata"]["labels"]["velero.io/schedule-name"] = name
        b["metadata"]["labels"]["velero.io/storage-location"] = s["spec"]["template"]["storageLocation"]
        b["spec"]["includedNamespaces"] = s["spec"]["template"]["includedNamespaces"]
        b["spec"]["storageLocation"] = s["spec"]["template"]["storageLocation"]
        b["status"]["startTimestamp"] = f"${{NOW-{hours}h}}"
        b["status"]["completionTimestamp"] = f"${{NOW-{hours}h}}"
        b["status"]["expiration"] = f"${{NOW+{max(1, 30 * 24 - hours)}h}}"
        objects.append(b)

    # Restores: completed drills, the older ones every 12h before healthy/'s (20h ago).
    restore0 = next(o for o in objects if o.get("kind") == "Restore")
    for k in range(2 * n - count("Restore")):
        hours = 32 + 12 * k
        r = copy(restore0)
        r["metadata"]["name"] = f"drill-gen-{k:05d}"
        r["metadata"]["creationTimestamp"] = f"${{NOW-{hours}h}}"
        r["status"]["startTimestamp"] = f"${{NOW-{hours}h}}"
        r["status"]["completionTimestamp"] = f"${{NOW-{hours}h}}"
        objects.append(r)

    # PVCs and their PVs, spread over shop and the app namespaces.
    homes = ["shop"] + apps
    for i in range(30 * n - count("PersistentVolumeClaim")):
        ns = homes[i % len(homes)]
        pvname = f"pvc-{i:08d}-0000-4000-8000-{i:012d}"
        claim = "data-0" if i < len(homes) else f"data-{i // len(homes)}"
        pvc = copy(pvc0)
        pvc["metadata"].update({"name": claim, "namespace": ns, "labels": {"app": "web"}})
        pvc["spec"]["volumeName"] = pvname
        pv = copy(pv0)
        pv["metadata"]["name"] = pvname
        pv["spec"]["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": claim}
        pv["spec"]["csi"]["volumeHandle"] = f"{i:08x}-1c2d-4e3f-8a9b-{i:012x}"
        objects.append(pvc)
        objects.append(pv)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--scale", type=int, default=None, help="1, 10, 100 ... (omit: healthy/ as it is)")
    ap.add_argument("--lab", type=Path, default=None, help="lab.json: point the velero secret and BSL bucket at the lab")
    args = ap.parse_args()

    objects = objects_in(CLUSTERS / "healthy")
    if args.scale is not None:
        if args.scale < 1:
            sys.exit("--scale must be >= 1")
        generate(objects, args.scale)
    if args.lab:
        point_at_lab(objects, json.loads(args.lab.read_text()))

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.yaml"):
        old.unlink()
    server = CLUSTERS / "healthy" / "_server.yaml"
    if server.exists():
        (args.out / "_server.yaml").write_text(server.read_text())
    # The server's YAML reader allows 1,024 documents per file: chunks of CHUNK.
    for i in range(0, len(objects), CHUNK):
        with open(args.out / f"objects-{i // CHUNK:04d}.yaml", "w") as f:
            f.write("\n---\n".join(json.dumps(o, separators=(",", ":")) for o in objects[i:i + CHUNK]))
            f.write("\n")

    counts = {}
    for o in objects:
        counts[o["kind"]] = counts.get(o["kind"], 0) + 1
    print(json.dumps({"scale": args.scale, "lab": bool(args.lab), "objects": len(objects), "kinds": dict(sorted(counts.items())),
                      "bytes": sum(p.stat().st_size for p in args.out.glob("objects-*.yaml"))}))


if __name__ == "__main__":
    main()
