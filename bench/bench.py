#!/usr/bin/env python3
"""The benchmark behind BENCHMARKS.md; run it through `bash bench/run.sh` (which builds and installs
what this needs). Everything is measured in one run, on this machine, against the in-repo fixture
API server (release build) and the real Keystone + Swift lab:

  1. head to head: `veldr doctor -o json` vs bench/hand.sh (kubectl + curl + swift), hyperfine
     medians and ratio, paired alternating runs, peak RSS (/usr/bin/time -v), API requests (the
     server's request log);
  2. latency: the fixture server at --delay-ms 0 and 25; the Kubernetes phase's depth in sequential
     round trips = (median at 25 ms - median at 0 ms) / 25 ms, for `veldr doctor --skip openstack --skip credentials.tls`;
  3. scale: generated clusters at 1x, 10x, 100x (bench/gen_scale.py): wall time, requests, pages, RSS;
  4. `veldr --version`;
  5. the floor (issue 13): per size (1x, 10x, 100x) and added API latency (0, 25, 100 ms), veldr's
     full doctor against a minimal client doing only what cannot be avoided, one after the other:
     the Kubernetes reads on veldr's critical path (Deployments, then the secret they name), a
     Keystone token, the first Swift request with it. Paired alternating runs; the ratio table.

Prints a Markdown report (also written to target/bench/report.md, raw numbers to results.json).
"""
import argparse
import base64
import http.client
import json
import os
import platform
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "target" / "bench"
# VELDR_BENCH_PROFILE=debug checks the script itself quickly; numbers only mean something in release.
PROFILE = os.environ.get("VELDR_BENCH_PROFILE", "release")
VELDR = REPO / "target" / PROFILE / "veldr"
SERVER = REPO / "target" / PROFILE / "fixture-apiserver"
DELAY = 25  # ms per API request in the latency runs
FLOOR_DELAYS = (0, 25, 100)  # ms per API request in the floor runs
FLOOR_SIZES = ("1x", "10x", "100x")
# The Kubernetes half alone: no request to Keystone or Swift. credentials.tls (category
# credentials) shakes hands with them, so `--skip openstack` alone is not enough since 0.2.
NO_OPENSTACK = ("--skip", "openstack", "--skip", "credentials.tls")


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------------------------------------
# Environment

def clean_env(extra=None):
    """The operator's own OS_* / KUBECONFIG must not leak into what is diagnosed."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("OS_") or k in ("KUBECONFIG", "NO_COLOR"))}
    env.update(extra or {})
    return env


def find_kubectl():
    """kubectl as found on PATH; Google Cloud SDK's dispatcher (/usr/bin/kubectl here) execs a
    versioned kubectl after a /version request of its own, so the versioned binary is called directly
    (faster: this favours the hand script)."""
    if os.environ.get("KUBECTL"):
        return os.environ["KUBECTL"], "KUBECTL from the environment"
    k = shutil.which("kubectl")
    if not k:
        sys.exit("kubectl not found (install Debian's kubernetes-client, or set KUBECTL)")
    real = Path(os.path.realpath(k))
    v = sh([k, "version", "--client"]).stdout
    if "dispatcher" in v:
        for cand in ("kubectl.1.31", "kubectl.1.32", "kubectl.1.33", "kubectl.1.30"):
            if (real.parent / cand).exists():
                return str(real.parent / cand), f"{k} is the Google Cloud SDK dispatcher; its {cand} is called directly"
    return k, k


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------
# Fixture API server

class ApiServer:
    def __init__(self, name, fixture_dir, delay_ms=0):
        self.dir = WORK / "run" / f"{name}-d{delay_ms}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = self.dir / "kubeconfig"
        self.log = self.dir / "requests.jsonl"
        if self.log.exists():
            self.log.unlink()
        self.proc = subprocess.Popen(
            [str(SERVER), "--dir", str(fixture_dir), "--kubeconfig-out", str(self.kubeconfig),
             "--delay-ms", str(delay_ms), "--request-log", str(self.log)],
            stdout=subprocess.PIPE, stderr=open(self.dir / "server.err", "w"), text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("https://"):
            self.stop()
            sys.exit(f"fixture-apiserver did not start: {(self.dir / 'server.err').read_text()}")

    def requests(self):
        if not self.log.exists():
            return []
        return [json.loads(l) for l in self.log.read_text().splitlines() if l.strip()]

    def count_during(self, fn):
        """Requests logged while fn() runs (the server logs each one when it finishes)."""
        before = len(self.requests())
        out = fn()
        time.sleep(0.2)
        return out, self.requests()[before:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


# ---------------------------------------------------------------------------------------------
# Measuring

def hyperfine(commands, runs, warmup, env, name, ignore_failure=False):
    """Medians (seconds) of each command, from hyperfine's JSON export."""
    out = WORK / f"hyperfine-{name}.json"
    cmd = ["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs), "--export-json", str(out)]
    if ignore_failure:
        cmd.append("-i")
    cmd += commands
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"hyperfine failed ({name}): {r.stderr[-2000:]}")
    data = json.loads(out.read_text())
    return [{"median": x["median"], "mean": x["mean"], "stddev": x.get("stddev"), "min": x["min"], "max": x["max"],
             "runs": len(x["times"])} for x in data["results"]]


def peak_rss_kb(argv, env, repeat=3):
    """Median over `repeat` runs of GNU time's "Maximum resident set size" (KiB). For a script this
    is the largest of the process and every child it waited for."""
    vals = []
    for _ in range(repeat):
        r = subprocess.run(["/usr/bin/time", "-v"] + argv, env=env, capture_output=True, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
        if not m:
            sys.exit(f"/usr/bin/time -v gave no peak RSS for {argv}: {r.stderr[-1000:]}")
        vals.append(int(m.group(1)))
    return statistics.median(vals)


def paired(a, b, env, pairs):
    """Alternating runs of a and b; the median of the per-pair ratios b/a."""
    ratios, ta, tb = [], [], []
    for i in range(pairs):
        order = [(a, ta), (b, tb)] if i % 2 == 0 else [(b, tb), (a, ta)]
        for argv, acc in order:
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            acc.append(time.perf_counter() - t0)
        ratios.append(tb[-1] / ta[-1])
    return {"pairs": pairs, "median_ratio": statistics.median(ratios), "min_ratio": min(ratios),
            "median_a": statistics.median(ta), "median_b": statistics.median(tb)}


def lab_floor(lab, n=7):
    """What any client pays the lab for a fresh credential check: a Keystone token with the
    application credential, then the first Swift request with it (Swift's authtoken middleware
    validates a token it has not seen against Keystone). Median of n, milliseconds."""
    import urllib.request
    body = json.dumps({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": lab["appcred"]["id"], "secret": lab["appcred"]["secret"]}}}}).encode()
    container = f"{lab['swift_a']}/v1/{lab['account']}/{lab['containers']['main']['name']}"
    tok_ms, head_ms, again_ms = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        req = urllib.request.Request(lab["keystone_url"] + "/auth/tokens", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            token = r.headers["X-Subject-Token"]
            r.read()
        t1 = time.perf_counter()
        for acc in (head_ms, again_ms):
            t = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(container, method="HEAD", headers={"X-Auth-Token": token})) as r:
                r.read()
            acc.append((time.perf_counter() - t) * 1000)
        tok_ms.append((t1 - t0) * 1000)
    return {"token_ms": statistics.median(tok_ms), "first_swift_ms": statistics.median(head_ms),
            "cached_swift_ms": statistics.median(again_ms)}


class FloorClient:
    """The floor of a full doctor run: what any client must wait for, one after the other, to
    answer "does Velero's credential work against this Swift": the Deployments (to find the velero
    container's secret), that secret, a Keystone token with its credential, and the first Swift
    request with that token (Swift's authtoken validates a new token against Keystone). Plain
    Python, fresh connections each run (as a new veldr process has), nothing else read or judged."""

    def __init__(self, kubeconfig, namespace="velero", deployment="velero"):
        text = Path(kubeconfig).read_text()
        field = lambda k: json.loads(re.search(rf"{k}: (\".*\")", text).group(1))
        self.server = urlparse(field("server"))
        self.bearer = field("token")
        self.ctx = ssl.create_default_context(cadata=base64.b64decode(field("certificate-authority-data")).decode())
        self.ctx.check_hostname = False  # the chain is still verified; the fixture cert names 127.0.0.1 only
        self.namespace, self.deployment = namespace, deployment

    def _kube(self, conn, path):
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.bearer}", "Accept": "application/json"})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {r.status}")
        return json.loads(body)

    def once(self):
        """One run; milliseconds of each step and in all."""
        t0 = time.perf_counter()
        conn = http.client.HTTPSConnection(self.server.hostname, self.server.port, context=self.ctx)
        deps = self._kube(conn, "/apis/apps/v1/deployments?limit=500")
        dep = next(d for d in deps["items"] if d["metadata"].get("namespace") == self.namespace and d["metadata"]["name"] == self.deployment)
        container = next(c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "velero")
        secret_name = next(e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e)
        secret = self._kube(conn, f"/api/v1/namespaces/{self.namespace}/secrets/{secret_name}")
        conn.close()
        env = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        env.update(secret.get("stringData") or {})
        t1 = time.perf_counter()
        auth = urlparse(env["OS_AUTH_URL"].rstrip("/"))
        body = json.dumps({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
            "id": env["OS_APPLICATION_CREDENTIAL_ID"], "secret": env["OS_APPLICATION_CREDENTIAL_SECRET"]}}}})
        ks = http.client.HTTPConnection(auth.hostname, auth.port)
        ks.request("POST", auth.path + "/auth/tokens", body=body, headers={"Content-Type": "application/json"})
        r = ks.getresponse()
        token, tok = r.headers["X-Subject-Token"], json.loads(r.read())
        ks.close()
        if r.status != 201:
            raise RuntimeError(f"Keystone: HTTP {r.status}")
        t2 = time.perf_counter()
        endpoint = next(e["url"] for c in tok["token"]["catalog"] if c["type"] == "object-store" for e in c["endpoints"]
                        if e["interface"] == "public" and e.get("region_id", e.get("region")) == env.get("OS_REGION_NAME"))
        sw_url = urlparse(endpoint)
        sw = http.client.HTTPConnection(sw_url.hostname, sw_url.port)
        sw.request("HEAD", sw_url.path, headers={"X-Auth-Token": token})
        r = sw.getresponse()
        r.read()
        sw.close()
        if r.status // 100 != 2:
            raise RuntimeError(f"Swift: HTTP {r.status}")
        t3 = time.perf_counter()
        # Not part of the floor: keystone.auth's one other Keystone request, the application
        # credential's expiry, made after the floor is measured (timed apart, reported beside it).
        ks = http.client.HTTPConnection(auth.hostname, auth.port)
        ks.request("GET", f"{auth.path}/users/{tok['token']['user']['id']}/application_credentials/{env['OS_APPLICATION_CREDENTIAL_ID']}",
                   headers={"X-Auth-Token": token, "Accept": "application/json"})
        r = ks.getresponse()
        r.read()
        ks.close()
        if r.status != 200:
            raise RuntimeError(f"Keystone (application credential): HTTP {r.status}")
        t4 = time.perf_counter()
        return {"total": (t3 - t0) * 1000, "kube": (t1 - t0) * 1000, "token": (t2 - t1) * 1000, "swift": (t3 - t2) * 1000,
                "expiry": (t4 - t3) * 1000}


def floor_pairs(argv, skip_argv, floor, env, pairs):
    """Alternating runs: veldr's full doctor, the floor client, NO_OPENSTACK; the median of
    the per-pair ratios full / floor, and of the per-triple differences full - skip."""
    full, skip, fl, ratios, over, fle, ratios_e = [], [], [], [], [], [], []
    for i in range(pairs):
        steps = [("full", argv), ("floor", None), ("skip", skip_argv)]
        if i % 2:
            steps.reverse()
        got = {}
        for name, cmd in steps:
            if cmd is None:
                f = floor.once()
                got[name], got["floor+expiry"] = f["total"], f["total"] + f["expiry"]
            else:
                t0 = time.perf_counter()
                r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                got[name] = (time.perf_counter() - t0) * 1000
                if r.returncode != 0:
                    sys.exit(f"veldr exited {r.returncode} in the floor runs: {' '.join(cmd)}")
        full.append(got["full"]), skip.append(got["skip"]), fl.append(got["floor"]), fle.append(got["floor+expiry"])
        ratios.append(got["full"] / got["floor"])
        ratios_e.append(got["full"] / got["floor+expiry"])
        over.append(got["full"] - got["skip"])
    med = statistics.median
    return {"pairs": pairs, "full_ms": med(full), "skip_ms": med(skip), "floor_ms": med(fl), "ratio": med(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios), "full_minus_skip_ms": med(over),
            "floor_expiry_ms": med(fle), "ratio_expiry": med(ratios_e)}


def doctor_argv(kubeconfig, *extra):
    return [str(VELDR), "doctor", "--kubeconfig", str(kubeconfig), "-o", "json", *extra]


def run_report(argv, env):
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    try:
        rep = json.loads(r.stdout)
    except json.JSONDecodeError:
        sys.exit(f"veldr printed no JSON report (exit {r.returncode}): {r.stderr[-2000:]}")
    return r.returncode, rep


def summary_of(rep):
    counts = {}
    for c in rep["checks"]:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return counts


def check_ms(rep, cid):
    c = next((c for c in rep["checks"] if c["id"] == cid), None)
    return c.get("durationMs") if c else None


def request_chain(reqs):
    """The longest chain of requests that must follow one another, read off the request log: the
    pages of one list come one after another (each needs the previous `continue`), and the secrets
    and config maps the velero container names are read after the last page of Deployments."""
    pages = {}
    for r in reqs:
        if r["method"] == "GET" and "limit=" in r["query"]:
            pages[r["path"]] = pages.get(r["path"], 0) + 1
    deployments = pages.get("/apis/apps/v1/deployments", 0)
    dependent = any(re.match(r"^/api/v1/namespaces/[^/]+/(secrets|configmaps)/[^/]+$", r["path"]) for r in reqs)
    longest = max(pages.values(), default=0)
    return {"longest_list_pages": longest, "depth": max(longest, deployments + 1 if dependent else 0),
            "pages": {p: n for p, n in pages.items() if n > 1}}


def describe_requests(reqs):
    pages = sum(1 for r in reqs if "continue=" in r["query"])
    by_path = {}
    for r in reqs:
        by_path[r["path"]] = by_path.get(r["path"], 0) + 1
    return {"total": len(reqs), "continue_pages": pages, "non_get": sum(1 for r in reqs if r["method"] != "GET"),
            "errors": sum(1 for r in reqs if r["status"] >= 400 and r["status"] != 404), "by_path": by_path}


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20, help="hyperfine runs per command (head to head)")
    ap.add_argument("--lab", default=os.environ.get("VELDR_LAB", "/tmp/veldr-lab/lab.json"))
    ap.add_argument("--floor-pairs", type=int, default=None, help="paired runs per floor configuration (default: max(5, runs/2))")
    ap.add_argument("--floor-only", action="store_true", help="only section 5, the floor (fixtures are generated as usual)")
    args = ap.parse_args()
    runs = max(3, args.runs)
    floor_pairs_n = max(3, args.floor_pairs or max(5, runs // 2))

    for p in (VELDR, SERVER):
        if not p.exists():
            sys.exit(f"{p} missing: cargo build --release -p veldr -p fixture-apiserver")
    lab_json = Path(args.lab)
    if not lab_json.exists():
        sys.exit(f"{lab_json} missing: start the lab (bash lab/lab.sh start)")
    lab = json.loads(lab_json.read_text())

    WORK.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    kubectl, kubectl_note = find_kubectl()
    venv = Path(os.environ.get("VELDR_LAB_VENV", Path.home() / ".cache/veldr-lab/venv"))
    swift = str(venv / "bin" / "swift")
    results["tools"] = {
        "veldr": sh([str(VELDR), "--version"]).stdout.strip(),
        "kubectl": kubectl_note + " — " + sh([kubectl, "version", "--client"]).stdout.splitlines()[0],
        "swift": sh([swift, "--version"]).stdout.strip() or sh([swift, "--version"]).stderr.strip(),
        "curl": sh(["curl", "--version"]).stdout.splitlines()[0],
        "hyperfine": sh(["hyperfine", "--version"]).stdout.strip(),
    }
    log(f"machine: {results['machine']}")

    # Fixtures.
    gen = [sys.executable, str(REPO / "bench" / "gen_scale.py"), "--lab", str(lab_json)]
    fixtures = {"lab-healthy": WORK / "fixtures" / "lab-healthy"}
    r = sh(gen + ["--out", str(fixtures["lab-healthy"])])
    if r.returncode:
        sys.exit(r.stderr)
    results["fixtures"] = {"lab-healthy": json.loads(r.stdout)}
    for s in (1, 10, 100):
        fixtures[f"{s}x"] = WORK / "fixtures" / f"{s}x"
        r = sh(gen + ["--scale", str(s), "--out", str(fixtures[f"{s}x"])])
        if r.returncode:
            sys.exit(r.stderr)
        results["fixtures"][f"{s}x"] = json.loads(r.stdout)

    venv_path = f"{venv / 'bin'}:{os.environ.get('PATH', '')}"
    kcache = WORK / "kubectl-cache"

    if args.floor_only:
        results["floor"] = measure_floor(fixtures, floor_pairs_n)
        finish(results, "-floor", render_floor)
        return

    # 1. Head to head.
    log("1/4 head to head: veldr doctor vs the hand script")
    with ApiServer("h2h", fixtures["lab-healthy"]) as srv:
        venv_env = clean_env({"KUBECONFIG": str(srv.kubeconfig), "KUBECTL": kubectl, "SWIFT": swift,
                              "KUBECTL_CACHE": str(kcache), "PATH": venv_path})
        env = clean_env()
        (code, rep), reqs = srv.count_during(lambda: run_report(doctor_argv(srv.kubeconfig), env))
        if code != 0 or any(c["status"] != "ok" for c in rep["checks"] if c["id"] != "nodeagent.pss"):
            sys.exit(f"veldr against lab-healthy is not all ok (exit {code}): {summary_of(rep)}")
        hand = ["bash", str(REPO / "bench" / "hand.sh")]
        h, hreqs = srv.count_during(lambda: subprocess.run(hand, env=venv_env, capture_output=True, text=True))
        if h.returncode != 0:
            sys.exit(f"bench/hand.sh failed: {h.stderr}")
        # The hand script's cache is now warm; measure warm (as on a responder's laptop).
        _, hreqs_warm = srv.count_during(lambda: subprocess.run(hand, env=venv_env, capture_output=True))
        hf = hyperfine([" ".join(doctor_argv(srv.kubeconfig)), "bash " + str(REPO / "bench" / "hand.sh")],
                       runs, 3, venv_env, "h2h")
        pr = paired(doctor_argv(srv.kubeconfig), hand, venv_env, max(5, runs // 2))
        kube_hf = hyperfine([" ".join(doctor_argv(srv.kubeconfig, *NO_OPENSTACK)),
                             "bash " + str(REPO / "bench" / "hand.sh") + " --kube-only"], runs, 3, venv_env, "h2h-kube")
        phases = [run_report(doctor_argv(srv.kubeconfig), env)[1] for _ in range(5)]
        results["h2h"] = {
            "veldr": hf[0], "hand": hf[1], "ratio_of_medians": hf[1]["median"] / hf[0]["median"], "paired": pr,
            "veldr_rss_kb": peak_rss_kb(doctor_argv(srv.kubeconfig), env),
            "hand_rss_kb": peak_rss_kb(hand, venv_env),
            "veldr_requests": describe_requests(reqs),
            "hand_requests_cold": describe_requests(hreqs), "hand_requests": describe_requests(hreqs_warm),
            "veldr_summary": summary_of(rep),
            "veldr_kube_ms": check_ms(rep, "kube.connect"),
            "kube_only": {"veldr": kube_hf[0], "hand": kube_hf[1], "ratio": kube_hf[1]["median"] / kube_hf[0]["median"]},
            "veldr_phases_ms": {cid: statistics.median(check_ms(p, cid) or 0 for p in phases)
                                for cid in ("kube.connect", "keystone.auth", "swift.container", "swift.tempurl-key", "swift.tempurl-digest", "swift.tempurl")},
            "veldr_total_ms": statistics.median(p.get("durationMs", 0) for p in phases),
            "lab_floor": lab_floor(lab),
        }
        log(f"   veldr {hf[0]['median']*1000:.0f} ms, hand {hf[1]['median']*1000:.0f} ms, ratio {results['h2h']['ratio_of_medians']:.1f}")

    # 2. Latency.
    log(f"2/4 latency: --delay-ms 0 and {DELAY}")
    lat = {}
    for name in ("lab-healthy", "1x", "10x", "100x"):
        per = {}
        for d in (0, DELAY):
            with ApiServer(f"lat-{name}", fixtures[name], d) as srv:
                env = clean_env()
                argv = doctor_argv(srv.kubeconfig, *NO_OPENSTACK)
                (code, rep), reqs = srv.count_during(lambda: run_report(argv, env))
                hf = hyperfine([" ".join(argv)], max(5, runs // 2), 2, env, f"lat-{name}-{d}", ignore_failure=True)[0]
                kube_ms = [check_ms(run_report(argv, env)[1], "kube.connect") for _ in range(5)]
                per[d] = {"wall": hf, "kube_ms_median": statistics.median(kube_ms), "requests": len(reqs), "exit": code,
                          "chain": request_chain(reqs)}
                if name == "lab-healthy":
                    venv_env = clean_env({"KUBECONFIG": str(srv.kubeconfig), "KUBECTL": kubectl, "SWIFT": swift,
                                          "KUBECTL_CACHE": str(kcache), "PATH": venv_path})
                    subprocess.run(hand, env=venv_env, capture_output=True)  # warm the cache for this server
                    _, hr = srv.count_during(lambda: subprocess.run(hand + ["--kube-only"], env=venv_env, capture_output=True))
                    per[d]["hand"] = hyperfine(["bash " + str(REPO / "bench" / "hand.sh") + " --kube-only"], max(5, runs // 2), 1,
                                               venv_env, f"lat-hand-{d}")[0]
                    per[d]["hand_requests"] = len(hr)
        depth_wall = (per[DELAY]["wall"]["median"] - per[0]["wall"]["median"]) * 1000 / DELAY
        depth_kube = (per[DELAY]["kube_ms_median"] - per[0]["kube_ms_median"]) / DELAY
        lat[name] = {"d0": per[0], f"d{DELAY}": per[DELAY], "depth_wall": depth_wall, "depth_kube_phase": depth_kube}
        if "hand" in per[0]:
            lat[name]["hand_depth"] = (per[DELAY]["hand"]["median"] - per[0]["hand"]["median"]) * 1000 / DELAY
        log(f"   {name}: kube phase {per[0]['kube_ms_median']} -> {per[DELAY]['kube_ms_median']} ms, depth {depth_kube:.2f}")
    results["latency"] = lat

    # 3. Scale.
    log("3/4 scale: 1x, 10x, 100x")
    scale = {}
    for name in ("1x", "10x", "100x"):
        with ApiServer(f"scale-{name}", fixtures[name]) as srv:
            env = clean_env()
            argv = doctor_argv(srv.kubeconfig)
            (code, rep), reqs = srv.count_during(lambda: run_report(argv, env))
            hf = hyperfine([" ".join(argv)], max(5, runs // 2), 2, env, f"scale-{name}", ignore_failure=True)[0]
            reps = [run_report(argv, env)[1] for _ in range(3)]
            kube_ms = [check_ms(r, "kube.connect") for r in reps]
            scale[name] = {"swift_head_ms_median": statistics.median(check_ms(r, "swift.container") or 0 for r in reps),
                           "bsls": results["fixtures"][name]["kinds"].get("BackupStorageLocation", 0),
                           "kube_wall_ms": lat[name]["d0"]["wall"]["median"] * 1000,
                           "objects": results["fixtures"][name]["objects"], "bytes": results["fixtures"][name]["bytes"],
                           "wall": hf, "kube_ms_median": statistics.median(kube_ms), "requests": describe_requests(reqs),
                           "rss_kb": peak_rss_kb(argv, env), "exit": code, "summary": summary_of(rep),
                           "not_ok": sorted(f"{c['id']}={c['status']}" for c in rep["checks"] if c["status"] not in ("ok",) and c["id"] != "nodeagent.pss")}
            log(f"   {name}: {hf['median']*1000:.0f} ms, {len(reqs)} requests, {scale[name]['rss_kb']/1024:.1f} MiB")
    results["scale"] = scale

    # 4. --version.
    log("4/4 veldr --version")
    results["version"] = hyperfine([f"{VELDR} --version"], 200, 20, clean_env(), "version")[0]

    # 5. The floor.
    results["floor"] = measure_floor(fixtures, floor_pairs_n)
    finish(results, "", render)


def finish(results, suffix, render_with):
    """Stamps the end of the run, writes results{suffix}.json and report{suffix}.md, prints the report."""
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["machine"]["load_end"] = os.getloadavg()
    (WORK / f"results{suffix}.json").write_text(json.dumps(results, indent=2))
    md = render_with(results)
    (WORK / f"report{suffix}.md").write_text(md)
    print(md)


def measure_floor(fixtures, pairs):
    """Section 5: veldr's full doctor against the floor client, at each size and API latency."""
    log(f"5/5 the floor: {', '.join(FLOOR_SIZES)} at {', '.join(f'{d} ms' for d in FLOOR_DELAYS)} per API request, {pairs} paired runs each")
    out = {}
    for name in FLOOR_SIZES:
        for d in FLOOR_DELAYS:
            with ApiServer(f"floor-{name}", fixtures[name], d) as srv:
                env = clean_env()
                # No OpenStack at all: credentials.tls (category credentials) shakes hands with Keystone and Swift.
                argv, skip = doctor_argv(srv.kubeconfig), doctor_argv(srv.kubeconfig, *NO_OPENSTACK)
                (code, rep), reqs = srv.count_during(lambda: run_report(argv, env))
                if code != 0:
                    sys.exit(f"veldr against {name} at {d} ms is not all ok (exit {code}): {summary_of(rep)}")
                seen = {}
                for r in reqs:
                    key = (r["method"], r["path"], r["query"])
                    seen[key] = seen.get(key, 0) + 1
                floor = FloorClient(srv.kubeconfig)
                floor.once()  # Python's first TLS handshake and imports, not the server's
                steps = [floor.once() for _ in range(3)]
                x = floor_pairs(argv, skip, floor, env, pairs)
                x["floor_steps_ms"] = {k: statistics.median(s[k] for s in steps) for k in ("kube", "token", "swift", "expiry")}
                x["requests"] = len(reqs)
                x["duplicate_requests"] = sorted(f"{m} {p}?{q} x{n}" for (m, p, q), n in seen.items() if n > 1)
                out[f"{name}@{d}"] = x
                log(f"   {name} at {d} ms: full {x['full_ms']:.0f} ms, skip {x['skip_ms']:.0f} ms, floor {x['floor_ms']:.0f} ms, "
                    f"ratio {x['ratio']:.2f}, full - skip {x['full_minus_skip_ms']:.0f} ms")
    return out


def render_floor(R):
    """Section 5 and its targets."""
    F = R["floor"]
    m = R["machine"]
    L = [f"### 5. veldr against the floor ({R['started']} → {R['finished']}; load average {m['load'][0]:.2f} at start, "
         f"{m['load_end'][0]:.2f} at end)\n"]
    L.append("The floor: a minimal client (bench/bench.py `FloorClient`) doing one after the other only what any "
             "client must: list Deployments, get the secret the velero container names, ask Keystone for a token, send "
             "the first Swift request with it. Full doctor and skip (`--skip openstack --skip credentials.tls`: no "
             "OpenStack request at all): wall time of the process. Paired alternating runs (full, floor, skip), medians; "
             "ratio = median of the per-pair full / floor. + expiry: the floor followed by keystone.auth's other "
             "Keystone request (the application credential's expiry), which veldr makes and the floor does not.\n")
    L.append("| size | API latency | veldr full | skip | full − skip | floor | of which kube / token / first Swift | full / floor (min … max) | floor + expiry | full / (floor + expiry) | duplicate API requests |")
    L.append("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for key, x in F.items():
        name, d = key.split("@")
        st = x["floor_steps_ms"]
        L.append(f"| {name} | {d} ms | {x['full_ms']:.0f} ms | {x['skip_ms']:.0f} ms | {x['full_minus_skip_ms']:.0f} ms | {x['floor_ms']:.0f} ms | "
                 f"{st['kube']:.0f} / {st['token']:.0f} / {st['swift']:.0f} ms | **{x['ratio']:.2f}×** ({x['ratio_min']:.2f} … {x['ratio_max']:.2f}) | "
                 f"{x['floor_expiry_ms']:.0f} ms | {x['ratio_expiry']:.2f}× | {len(x['duplicate_requests'])} of {x['requests']} |")
    L.append("")
    L.append("| target (issue 13) | measured | |")
    L.append("|---|---|---|")
    if "100x@100" in F:
        over = F["100x@100"]["full_minus_skip_ms"]
        L.append(f"| 100× at 100 ms per API request: full doctor ≤ skip (no OpenStack) + 150 ms | +{over:.0f} ms | {'met' if over <= 150 else 'missed'} |")
    if "1x@0" in F:
        r = F["1x@0"]["ratio"]
        L.append(f"| 1× against the lab: full doctor ≤ 1.2× the floor (paired median) | {r:.2f}× | {'met' if r <= 1.2 else 'missed'} |")
    dups = sum(len(x["duplicate_requests"]) for x in F.values())
    L.append(f"| no API request made twice | {dups} duplicate(s) over {len(F)} configurations (Keystone and Swift: tests/graph.rs) | {'met' if dups == 0 else 'missed'} |")
    return "\n".join(L) + "\n"


def ms(s):
    return f"{s * 1000:.0f} ms" if s >= 0.1 else f"{s * 1000:.1f} ms"


def mib(kb):
    return f"{kb / 1024:.1f} MiB"


def render(R):
    m, h, lat, sc = R["machine"], R["h2h"], R["latency"], R["scale"]
    L = []
    L.append(f"## Results ({R['started']} → {R['finished']})\n")
    L.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, Linux {m['kernel']}; "
             f"load average at start {m['load'][0]:.2f} / {m['load'][1]:.2f} / {m['load'][2]:.2f}, at end "
             f"{m['load_end'][0]:.2f} / {m['load_end'][1]:.2f} / {m['load_end'][2]:.2f}.\n")
    L.append("Tools: " + "; ".join(f"{k}: {v}" for k, v in R["tools"].items()) + "\n")

    L.append("### 1. veldr vs the hand-run script (lab-healthy: healthy/ + the lab's credentials, no added delay)\n")
    L.append("| | median | min … max | peak RSS | API requests |")
    L.append("|---|---:|---:|---:|---:|")
    L.append(f"| `veldr doctor -o json` | {ms(h['veldr']['median'])} | {ms(h['veldr']['min'])} … {ms(h['veldr']['max'])} | "
             f"{mib(h['veldr_rss_kb'])} | {h['veldr_requests']['total']} |")
    L.append(f"| `bench/hand.sh` | {ms(h['hand']['median'])} | {ms(h['hand']['min'])} … {ms(h['hand']['max'])} | "
             f"{mib(h['hand_rss_kb'])} | {h['hand_requests']['total']} (cold cache: {h['hand_requests_cold']['total']}) |")
    L.append("")
    L.append(f"Ratio of hyperfine medians ({h['veldr']['runs']} runs each): **{h['ratio_of_medians']:.1f}×**; "
             f"median of {h['paired']['pairs']} paired alternating runs: **{h['paired']['median_ratio']:.1f}×** "
             f"(lowest pair {h['paired']['min_ratio']:.1f}×). veldr's Kubernetes phase: {h['veldr_kube_ms']} ms.\n")

    k = h["kube_only"]
    L.append(f"Kubernetes half alone: `veldr doctor --skip openstack --skip credentials.tls` {ms(k['veldr']['median'])} vs `hand.sh --kube-only` "
             f"(5 kubectl calls) {ms(k['hand']['median'])}: **{k['ratio']:.1f}×**.\n")
    ph, fl = h["veldr_phases_ms"], h["lab_floor"]
    L.append(f"Where veldr's {h['veldr_total_ms']:.0f} ms go (its own `durationMs`, median of 5): Kubernetes phase {ph['kube.connect']:.0f} ms; "
             f"Keystone token {ph['keystone.auth']:.0f} ms; container/account HEAD {ph['swift.container']:.0f}/{ph['swift.tempurl-key']:.0f} ms "
             f"(concurrent), /info {ph['swift.tempurl-digest']:.0f} ms; temp-URL probe {ph['swift.tempurl']:.0f} ms. "
             f"The lab's own floor for a fresh credential (Python urllib, median of 7): token {fl['token_ms']:.0f} ms, first Swift request "
             f"with it {fl['first_swift_ms']:.0f} ms (authtoken validates it against Keystone), the next {fl['cached_swift_ms']:.0f} ms.\n")

    L.append(f"### 2. Latency: the API server answers every request {DELAY} ms late\n")
    L.append(f"| `veldr doctor --skip openstack --skip credentials.tls` on | requests | kube phase at 0 ms | at {DELAY} ms | depth (kube phase) | wall at 0 ms | at {DELAY} ms | depth (wall) | depth from the request log |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, x in lat.items():
        d0, d25 = x["d0"], x[f"d{DELAY}"]
        ch = d0["chain"]
        why = ", ".join(f"{p.rsplit('/', 1)[-1]} {n} pages" for p, n in sorted(ch["pages"].items())) or "Deployments → secret"
        L.append(f"| {name} | {d0['requests']} | {d0['kube_ms_median']:.0f} ms | {d25['kube_ms_median']:.0f} ms | "
                 f"**{x['depth_kube_phase']:.2f}** | {ms(d0['wall']['median'])} | {ms(d25['wall']['median'])} | {x['depth_wall']:.2f} | "
                 f"{ch['depth']} ({why}) |")
    x = lat["lab-healthy"]
    L.append(f"| `hand.sh --kube-only` on lab-healthy | {x['d0']['hand_requests']} | | | | {ms(x['d0']['hand']['median'])} | "
             f"{ms(x[f'd{DELAY}']['hand']['median'])} | {x['hand_depth']:.2f} | 5 kubectl calls, one after another |")
    L.append("")
    L.append("depth (kube phase) = (veldr's own Kubernetes-phase time at 25 ms − at 0 ms) / 25 ms; depth (wall) the same from hyperfine "
             "medians of the whole run. Where the phase is CPU-bound (100×: decoding ~6.6 MB), waiting overlaps with work and both "
             "read low; the request-log depth is the structural count.\n")

    L.append("### 3. Scale (full doctor against the lab; no added delay)\n")
    L.append("| size | objects (JSON) | BSLs | median wall, full | of which kube phase | Swift HEADs | wall without OpenStack | API requests | of which continue pages | peak RSS | result |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, x in sc.items():
        res = "exit 0, all ok" if x["exit"] == 0 and not x["not_ok"] else f"exit {x['exit']}: {', '.join(x['not_ok'])}"
        L.append(f"| {name} | {x['objects']} ({x['bytes'] / 1e6:.2f} MB) | {x['bsls']} | {ms(x['wall']['median'])} | {x['kube_ms_median']:.0f} ms | "
                 f"{x['swift_head_ms_median']:.0f} ms | {x['kube_wall_ms']:.0f} ms | "
                 f"{x['requests']['total']} | {x['requests']['continue_pages']} | {mib(x['rss_kb'])} | {res} |")
    L.append("")
    v = R["version"]
    L.append(f"### 4. `veldr --version`: median {ms(v['median'])} (min {ms(v['min'])}, {v['runs']} runs)\n")

    L.append("### Targets\n")
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    ratio = min(h["ratio_of_medians"], h["paired"]["median_ratio"])
    L.append(f"| doctor ≥ 10× faster than the hand script | {h['ratio_of_medians']:.1f}× (medians), {h['paired']['median_ratio']:.1f}× (paired) | {'met' if ratio >= 10 else 'missed'} |")
    d = lat["lab-healthy"]["depth_kube_phase"]
    L.append(f"| kube phase ≤ 6 round trips deep at {DELAY} ms | {d:.2f} measured (lab-healthy); request log: "
             + ", ".join(f"{n} {x['d0']['chain']['depth']}" for n, x in lat.items())
             + f" | {'met' if d <= 6.5 and all(x['d0']['chain']['depth'] <= 6 for x in lat.values()) else 'missed'} |")
    r1, r100 = sc["1x"]["requests"], sc["100x"]["requests"]
    grows = (r100["total"] - r100["continue_pages"]) == (r1["total"] - r1["continue_pages"])
    L.append(f"| requests grow with kinds and pages, not objects | 1×: {r1['total']}, 10×: {sc['10x']['requests']['total']}, 100×: {r100['total']} "
             f"({r100['continue_pages']} continue pages) | {'met' if grows else 'missed'} |")
    L.append(f"| peak RSS ≤ 50 MB at 100× | {mib(sc['100x']['rss_kb'])} ({sc['100x']['rss_kb'] * 1024 / 1e6:.1f} MB) | {'met' if sc['100x']['rss_kb'] * 1024 <= 50e6 else 'missed'} |")
    L.append(f"| `veldr --version` < 10 ms | {ms(v['median'])} | {'met' if v['median'] < 0.010 else 'missed'} |")
    return "\n".join(L) + "\n\n" + render_floor(R)


if __name__ == "__main__":
    main()
