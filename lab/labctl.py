#!/usr/bin/env python3
"""veldr test lab controller: a real Keystone + a real Swift on 127.0.0.1.

Run through lab/lab.sh (it picks the venv's python). Subcommands:
start | stop | status | swift-stop | swift-start | velero-backup (stdlib only: any python3).
All state lives under $VELDR_LAB_DIR (default /tmp/veldr-lab).
"""
import base64
import datetime
import gzip
import json
import os
import pwd
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

LAB = os.path.abspath(os.environ.get("VELDR_LAB_DIR", "/tmp/veldr-lab"))
BIN = os.path.dirname(os.path.abspath(sys.executable))
HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = float(os.environ.get("VELDR_LAB_TIMEOUT", "60"))

KS_DIR = os.path.join(LAB, "keystone")
SW_DIR = os.path.join(LAB, "swift")
SRV_DIR = os.path.join(LAB, "srv")
LOG_DIR = os.path.join(LAB, "logs")
PIDS = os.path.join(LAB, "pids")
STATE = os.path.join(LAB, "state.json")   # ports + internal bits, for swift-start/status

SWIFT_SERVERS = ("account", "container", "object")
PROXIES = ("proxy-a", "proxy-b")


class LabError(Exception):
    def __init__(self, msg, log=None):
        super().__init__(msg)
        self.log = log


def say(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return f"(no log: {e})"


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# ---------------------------------------------------------------- processes

def read_pids():
    out = []
    try:
        with open(PIDS) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out.append((parts[0], int(parts[1])))
    except OSError:
        pass
    return out


def add_pid(name, pid):
    with open(PIDS, "a") as f:
        f.write(f"{name} {pid}\n")


def remove_pid(name, pid):
    keep = [(n, p) for n, p in read_pids() if (n, p) != (name, pid)]
    with open(PIDS, "w") as f:
        for n, p in keep:
            f.write(f"{n} {p}\n")


def spawn(name, argv, env=None):
    """Start a long-running server in its own session (pgid == pid), logs to logs/<name>.log."""
    log = open(os.path.join(LOG_DIR, f"{name}.log"), "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, env=env, cwd=LAB)
    log.close()
    add_pid(name, p.pid)
    return p


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def kill_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def orphans():
    """Servers of a lab in this same LAB dir whose pids file is gone (e.g. someone rm -rf'd it):
    venv-launched processes whose argv points into LAB. Only ever our own servers."""
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if len(argv) < 2 or not argv[1].startswith(BIN + "/"):
            continue
        script = os.path.basename(argv[1])
        if not (script.startswith("swift-") or script in ("gunicorn", "keystone-manage")):
            continue
        if any(a.startswith(LAB + "/") for a in argv[2:]):
            found.append(int(d))
    return found


def ours(pid):
    """Guard against a recycled PID: only signal a process whose argv points into LAB."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return False  # gone already
    return any(a.startswith(LAB + "/") for a in argv[1:])


def reap():
    """Collect our own exited children (only a failed start has any), so they don't look alive."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_names(names=None):
    entries = read_pids()
    if names is None:
        known = {p for _, p in entries}
        entries += [("orphan", p) for p in orphans() if p not in known]
    victims = [(n, p) for n, p in entries if (names is None or n in names) and ours(p)]
    for _, pid in victims:
        kill_group(pid, signal.SIGTERM)
    deadline = time.time() + 5
    while time.time() < deadline and any(group_alive(p) or alive(p) for _, p in victims):
        reap()
        time.sleep(0.1)
    for _, pid in victims:
        if group_alive(pid) or alive(pid):
            kill_group(pid, signal.SIGKILL)
    time.sleep(0.1)
    reap()
    keep = [(n, p) for n, p in entries if (n, p) not in victims and ours(p)]
    if os.path.isdir(LAB):
        with open(PIDS, "w") as f:
            for n, p in keep:
                f.write(f"{n} {p}\n")


# ---------------------------------------------------------------- http

def http(method, url, body=None, headers=None, token=None, timeout=15):
    """Return (status, headers, parsed-or-raw body). Never raises on HTTP errors."""
    h = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
    elif method in ("PUT", "POST"):
        data = b""
    if token:
        h["X-Auth-Token"] = token
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, rh, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, rh, raw = e.code, e.headers, e.read()
    ctype = rh.get("Content-Type", "") or ""
    if raw and "json" in ctype:
        try:
            return status, rh, json.loads(raw)
        except ValueError:
            pass
    return status, rh, raw


def expect(resp, *codes, what=""):
    status, _, body = resp
    if status not in codes:
        raise LabError(f"provisioning: {what} answered {status} (wanted {codes}): {str(body)[:400]}")
    return resp


def answers(url, codes=(200, 300)):
    try:
        req = urllib.request.Request(url, method="GET")
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status in codes
    except urllib.error.HTTPError as e:
        return e.code in codes
    except Exception:
        return False


def tcp_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- config

def keystone_conf(st):
    k = KS_DIR
    return f"""[DEFAULT]
debug = false
use_stderr = true
[database]
connection = sqlite:///{k}/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = {k}/fernet-keys
max_active_keys = 3
[fernet_receipts]
key_repository = {k}/fernet-keys
[credential]
key_repository = {k}/credential-keys
[identity]
password_hash_rounds = 4
"""


def swift_common(st, name, port):
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {pwd.getpwuid(os.getuid()).pw_name}
swift_dir = {SW_DIR}
devices = {SRV_DIR}
mount_check = false
log_name = {name}
log_level = INFO
log_udp_host = 127.0.0.1
log_udp_port = {st['ports']['syslog']}
"""


def server_conf(st, kind):
    port = st["ports"][kind]
    extra = ""
    if kind == "object":
        extra = "\n[object-updater]\n[object-replicator]\n[object-auditor]\n"
    else:
        extra = f"\n[{kind}-replicator]\n[{kind}-auditor]\n"
    return swift_common(st, f"{kind}-server", port) + f"""
[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}
""" + extra


def proxy_conf(st, which):
    port = st["ports"][which]
    ks = st["ports"]["keystone"]
    if which == "proxy-a":
        info, tempurl = "true", "allowed_digests = sha256 sha512\n"
    else:
        info, tempurl = "false", ""  # code default: sha1 sha256 sha512
    return swift_common(st, which, port) + f"""expose_info = {info}

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats tempurl authtoken keystoneauth proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = false

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:tempurl]
use = egg:swift#tempurl
{tempurl}
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = http://127.0.0.1:{ks}/v3
auth_url = http://127.0.0.1:{ks}
auth_type = password
user_domain_id = default
project_domain_id = default
project_name = service
username = swift
password = {st['swift_password']}
delay_auth_decision = True
service_token_roles_required = True
http_connect_timeout = 5
http_request_max_retries = 1

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, swiftoperator
reseller_prefix = AUTH_
"""


def build_rings(st):
    from swift.common.ring import RingBuilder  # venv only
    for kind in SWIFT_SERVERS:
        b = RingBuilder(6, 1, 1)
        b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
                   "port": st["ports"][kind], "device": "d1", "weight": 100, "meta": ""})
        b.rebalance()
        b.get_ring().save(os.path.join(SW_DIR, f"{kind}.ring.gz"))
        b.save(os.path.join(SW_DIR, f"{kind}.builder"))


def fernet_repo(path):
    # Same layout `keystone-manage fernet_setup` makes (0 = staged, 1 = primary),
    # without paying ~2 s for another keystone import.
    os.makedirs(path, mode=0o700, exist_ok=True)
    for i in ("0", "1"):
        write(os.path.join(path, i), base64.urlsafe_b64encode(os.urandom(32)).decode(), 0o600)


def write_configs(st):
    for d in (KS_DIR, SW_DIR, os.path.join(SRV_DIR, "d1"), LOG_DIR):
        os.makedirs(d, exist_ok=True)
    write(os.path.join(KS_DIR, "keystone.conf"), keystone_conf(st))
    fernet_repo(os.path.join(KS_DIR, "fernet-keys"))
    fernet_repo(os.path.join(KS_DIR, "credential-keys"))
    # keystone parses sys.argv when imported: gunicorn's argv would make it exit 2.
    write(os.path.join(KS_DIR, "lab_keystone_app.py"),
          "import sys\nsys.argv = sys.argv[:1]\nfrom keystone.wsgi.api import application  # noqa\n")
    write(os.path.join(SW_DIR, "swift.conf"), f"""[swift-hash]
swift_hash_path_suffix = {secrets.token_hex(8)}
swift_hash_path_prefix = {secrets.token_hex(8)}

[storage-policy:0]
name = Policy-0
default = yes
""")
    for kind in SWIFT_SERVERS:
        write(os.path.join(SW_DIR, f"{kind}-server.conf"), server_conf(st, kind))
    for p in PROXIES:
        write(os.path.join(SW_DIR, f"{p}.conf"), proxy_conf(st, p))


def ks_env():
    env = dict(os.environ)
    env["OS_KEYSTONE_CONFIG_FILES"] = os.path.join(KS_DIR, "keystone.conf")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def swift_argv(kind):
    script = {"account": "swift-account-server", "container": "swift-container-server",
              "object": "swift-object-server"}.get(kind, "swift-proxy-server")
    conf = os.path.join(SW_DIR, f"{kind}-server.conf" if kind in SWIFT_SERVERS else f"{kind}.conf")
    # -v: also log to stderr (our log file), since there is no syslog here.
    return [os.path.join(BIN, script), conf, "-v"]


def start_proxies():
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return {p: spawn(p, swift_argv(p), env) for p in PROXIES}


# ---------------------------------------------------------------- waiting

def wait_all(checks, procs, deadline):
    """checks: {name: callable -> bool}; procs: {name: Popen or pid}."""
    pending = dict(checks)
    while pending:
        for name in list(pending):
            p = procs.get(name)
            if p is not None:
                rc = p.poll() if hasattr(p, "poll") else (None if alive(p) else "gone")
                if rc is not None:
                    raise LabError(f"{name} exited (rc={rc}) during start",
                                   os.path.join(LOG_DIR, f"{name}.log"))
            if pending[name]():
                del pending[name]
        if not pending:
            return
        if time.time() > deadline:
            name = sorted(pending)[0]
            raise LabError(f"{', '.join(sorted(pending))} did not answer within {TIMEOUT:.0f} s",
                           os.path.join(LOG_DIR, f"{name}.log"))
        time.sleep(0.1)


def run_step(name, argv, env, deadline):
    logp = os.path.join(LOG_DIR, f"{name}.log")
    with open(logp, "ab") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             env=env, cwd=LAB, start_new_session=True)
        add_pid(name, p.pid)
        try:
            rc = p.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            raise LabError(f"{name} did not finish within {TIMEOUT:.0f} s", logp)
    remove_pid(name, p.pid)
    if rc != 0:
        raise LabError(f"{name} failed (rc={rc})", logp)


# ---------------------------------------------------------------- provisioning

def provision(st):
    ks = f"http://127.0.0.1:{st['ports']['keystone']}"
    v3 = ks + "/v3"
    A = f"http://127.0.0.1:{st['ports']['proxy-a']}"
    B = f"http://127.0.0.1:{st['ports']['proxy-b']}"

    def password_token(user, password, project=None, project_id=None, domain="Default"):
        scope = {"project": {"id": project_id}} if project_id else \
            {"project": {"name": project, "domain": {"name": domain}}}
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": domain}, "password": password}}}, "scope": scope}}
        s, h, b = expect(http("POST", v3 + "/auth/tokens", body), 201, what=f"token for {user}")
        return h["X-Subject-Token"], b

    admin_tok, _ = password_token("admin", st["admin_password"], project="admin")

    def post(path, key, obj, tok=admin_tok, what=None):
        s, h, b = expect(http("POST", v3 + path, {key: obj}, token=tok), 201, what=what or f"POST {path}")
        return b[key]

    def put(path, tok=admin_tok):
        expect(http("PUT", v3 + path, token=tok), 204, 201, what=f"PUT {path}")

    s, h, b = expect(http("GET", v3 + "/roles", token=admin_tok), 200, what="list roles")
    roles = {r["name"]: r["id"] for r in b["roles"]}
    for r in ("member", "reader", "service", "swiftoperator"):
        if r not in roles:
            roles[r] = post("/roles", "role", {"name": r})["id"]

    service_project = post("/projects", "project", {"name": "service", "domain_id": "default"})["id"]
    project = post("/projects", "project", {"name": "veldr", "domain_id": "default",
                                            "description": "veldr lab"})["id"]

    def user(name, password, project_id):
        return post("/users", "user", {"name": name, "password": password, "domain_id": "default",
                                       "default_project_id": project_id})["id"]

    swift_uid = user("swift", st["swift_password"], service_project)
    put(f"/projects/{service_project}/users/{swift_uid}/roles/{roles['service']}")
    # authtoken needs to validate other users' tokens: admin on the service project
    put(f"/projects/{service_project}/users/{swift_uid}/roles/{roles['admin']}")

    user_pw = secrets.token_urlsafe(18)
    uid = user("velero-user", user_pw, project)
    put(f"/projects/{project}/users/{uid}/roles/{roles['member']}")
    put(f"/projects/{project}/users/{uid}/roles/{roles['swiftoperator']}")

    reader_pw = secrets.token_urlsafe(18)
    rid = user("velero-reader", reader_pw, project)
    put(f"/projects/{project}/users/{rid}/roles/{roles['reader']}")

    # catalog: object-store in RegionOne (proxy A) and RegionTwo (proxy B)
    post("/regions", "region", {"id": "RegionTwo", "description": "veldr lab proxy B"})
    svc = post("/services", "service", {"type": "object-store", "name": "swift", "enabled": True})["id"]
    for region, base in (("RegionOne", A), ("RegionTwo", B)):
        for iface in ("public", "internal"):
            post("/endpoints", "endpoint", {"service_id": svc, "interface": iface, "region_id": region,
                                            "url": base + "/v1/AUTH_%(tenant_id)s", "enabled": True})

    # the user creates its own application credentials
    utok, _ = password_token("velero-user", user_pw, project_id=project)

    def appcred(user_id, tok, name, **extra):
        body = dict(name=name, **extra)
        return post(f"/users/{user_id}/application_credentials", "application_credential", body,
                    tok=tok, what=f"create app credential {name}")

    ac = appcred(uid, utok, "velero", description="veldr lab healthy credential")
    exp = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7)) \
        .replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    ac_exp = appcred(uid, utok, "velero-expiring", expires_at=exp)
    ac_del = appcred(uid, utok, "velero-deleted")
    expect(http("DELETE", f"{v3}/users/{uid}/application_credentials/{ac_del['id']}", token=utok),
           204, what="delete app credential")

    rtok, _ = password_token("velero-reader", reader_pw, project_id=project)
    ac_r = appcred(rid, rtok, "velero-reader")

    # Swift, as the user through its healthy app credential and the catalog
    body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": ac["id"], "secret": ac["secret"]}}}}
    s, h, tb = expect(http("POST", v3 + "/auth/tokens", body), 201, what="app credential token")
    atok = h["X-Subject-Token"]
    sw_url = [e["url"] for c in tb["token"]["catalog"] if c["type"] == "object-store"
              for e in c["endpoints"] if e["interface"] == "public" and e["region_id"] == "RegionOne"][0]
    account = "AUTH_" + project
    assert sw_url == f"{A}/v1/{account}", sw_url

    account_key = secrets.token_hex(16)
    main_key = secrets.token_hex(16)
    key2 = secrets.token_hex(16)
    expect(http("POST", sw_url, token=atok, headers={"X-Account-Meta-Temp-URL-Key": account_key}),
           204, what="set account Temp-URL-Key")
    expect(http("PUT", sw_url + "/velero-backups", token=atok,
                headers={"X-Container-Meta-Temp-URL-Key": main_key}), 201, 202, what="PUT velero-backups")
    expect(http("PUT", sw_url + "/velero-nokey", token=atok), 201, 202, what="PUT velero-nokey")
    expect(http("PUT", sw_url + "/velero-key2only", token=atok,
                headers={"X-Container-Meta-Temp-URL-Key-2": key2}), 201, 202, what="PUT velero-key2only")
    obj_name = "backups/probe-fixture.txt"
    expect(http("PUT", f"{sw_url}/velero-backups/{obj_name}", body=b"hello", token=atok,
                headers={"Content-Type": "text/plain"}), 201, what="PUT object")
    for name, body in velero_store_objects().items():
        expect(http("PUT", f"{sw_url}/velero-backups/{name}", body=body, token=atok,
                    headers={"Content-Type": "application/octet-stream"}), 201, what=f"PUT {name}")
    inventory = inventory_store_objects()
    put_objects(f"{sw_url}/velero-backups", atok, inventory.pop("objects"))
    # restore-check's backups (restore_check_objects), each in Velero's formats
    put_objects(f"{sw_url}/velero-backups", atok, [(n, body, {}) for n, body in restore_check_objects().items()])
    # the other proxy sees the same data
    expect(http("HEAD", f"{B}/v1/{account}/velero-backups/{obj_name}", token=atok), 200,
           what="HEAD object via proxy B")

    return {
        "keystone_url": v3, "keystone_root": ks,
        "swift_a": A, "swift_b": B,
        "region_a": "RegionOne", "region_b": "RegionTwo",
        "admin": {"username": "admin", "password": st["admin_password"], "project": "admin",
                  "domain": "Default"},
        "project_id": project, "project_name": "veldr", "account": account,
        "user": {"id": uid, "name": "velero-user", "password": user_pw, "domain": "Default"},
        "appcred": {"id": ac["id"], "name": ac["name"], "secret": ac["secret"]},
        "appcred_expiring": {"id": ac_exp["id"], "name": ac_exp["name"], "secret": ac_exp["secret"],
                             "expires_at": exp},
        "appcred_deleted": {"id": ac_del["id"], "name": ac_del["name"], "secret": ac_del["secret"]},
        "reader": {"user_id": rid, "name": "velero-reader", "password": reader_pw,
                   "appcred_id": ac_r["id"], "appcred_secret": ac_r["secret"]},
        "containers": {
            "main": {"name": "velero-backups", "key": main_key},
            "nokey": {"name": "velero-nokey"},
            "key2only": {"name": "velero-key2only", "key2": key2},
        },
        "account_key": account_key,
        "object": {"container": "velero-backups", "name": obj_name, "body": "hello"},
        "velero_store": {"container": "velero-backups", "partially_failed": VELERO_PARTIAL,
                         "failed_without_results": VELERO_FAILED, "restore": VELERO_RESTORE,
                         "corrupt": ["corrupt-notgzip", "corrupt-truncated", "corrupt-huge", "corrupt-bomb"]},
        "restore_check": dict(RESTORE_CHECK, container="velero-backups", planted_secret=RC_PLANTED),
        "inventory": inventory,
    }


# Velero's objects for failed backups and a restore, in Velero's exact formats: results are gzip of
# json.Encoder's output of map[string]results.Result (pkg/util/results, omitempty scopes; each message
# as pkg/util/logging/log_counter_hook.go builds it, with its leading space); logs are gzip of logrus
# TextFormatter lines (Velero's default --log-format text). Names are fixed: fixtures refer to them.
VELERO_PARTIAL = "nightly-20261201020000"      # PartiallyFailed: results and logs
VELERO_FAILED = "nightly-20261130020000"       # Failed early: a log, no results
VELERO_RESTORE = "nightly-20261201020000-restore"


def logrus_line(t, level, msg, **fields):
    # logrus TextFormatter.needsQuoting: quoted unless every rune is [A-Za-z0-9-._/@^+]; "" stays bare.
    ok = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")
    def q(v):
        return json.dumps(v) if any(c not in ok for c in v) else v
    extra = "".join(f" {k}={q(v)}" for k, v in sorted(fields.items()))
    return f'time={q(t)} level={level} msg={q(msg)}{extra}\n'


def hook_message(msg, error=None, resource=None, name=None):
    out = ""
    if resource:
        out += f" resource: /{resource}"
    if name:
        out += f" name: /{name}"
    out += f" message: /{msg}"
    if error:
        out += f" error: /{error}"
    return out


def velero_store_objects():
    snap_err = ("error executing custom action (groupResource=persistentvolumeclaims, namespace=shop, name=data): "
                "rpc error: code = Unknown desc = failed to create snapshot: rpc error: code = FailedPrecondition desc = "
                "the number of snapshots on the source volume 5b0c1c2e-3f4a-4d6b-9e8f-0a1b2c3d4e5f reaches the configured maximum (3)")
    b = VELERO_PARTIAL
    bref = f"velero/{b}"
    results = {
        "errors": {"namespaces": {"shop": [hook_message("Error backing up item", snap_err, "persistentvolumeclaims", "data")]}},
        "warnings": {"velero": [hook_message("Volume snapshot location not found; snapshots will not be taken")],
                     "namespaces": {"shop": [hook_message("Skipping item: pod is not running", None, "pods", "job-x")]}},
    }
    log = "".join([
        logrus_line("2026-12-01T02:00:00Z", "info", "Setting up backup temp file", backup=bref, logSource="pkg/controller/backup_controller.go:675"),
        logrus_line("2026-12-01T02:00:01Z", "info", "Backing up item", backup=bref, logSource="pkg/backup/item_backupper.go:179",
                    name="data", namespace="shop", resource="persistentvolumeclaims"),
        logrus_line("2026-12-01T02:00:03Z", "error", "Error backing up item", backup=bref, error=snap_err,
                    logSource="pkg/backup/backup.go:507", name="data", namespace="shop", resource="persistentvolumeclaims"),
        logrus_line("2026-12-01T02:00:04Z", "info", "Backed up a total of 87 items", backup=bref, logSource="pkg/backup/backup.go:546", progress=""),
    ])
    f = VELERO_FAILED
    failed_log = "".join([
        logrus_line("2026-11-30T02:00:00Z", "info", "Setting up backup temp file", backup=f"velero/{f}", logSource="pkg/controller/backup_controller.go:675"),
        logrus_line("2026-11-30T02:00:02Z", "error", "Error uploading log file", backup=f"velero/{f}",
                    error="rpc error: code = Unknown desc = failed to build auth options: Missing input for argument [auth_url]",
                    logSource="pkg/controller/backup_controller.go:960"),
    ])
    r = VELERO_RESTORE
    restore_results = {"errors": {"namespaces": {"shop": [
        "error executing PVCAction for persistentvolumeclaims/shop/data: rpc error: code = Unknown desc = Failed to get Volumesnapshot "
        "shop/velero-data-9m2kq to restore PVC shop/data: volumesnapshots.snapshot.storage.k8s.io \"velero-data-9m2kq\" not found"]}},
        "warnings": {"namespaces": {"shop": [
        " could not restore, ConfigMap \"app-config\" already exists. Warning: the in-cluster version is different than the backed-up version"]}}}
    restore_log = logrus_line("2026-12-01T09:00:00Z", "info", "starting restore", logSource="pkg/controller/restore_controller.go:521", restore=f"velero/{r}")
    enc = lambda doc: gzip.compress((json.dumps(doc, separators=(",", ":")) + "\n").encode())
    truncated = enc(results)
    objects = {
        f"backups/{b}/{b}-results.gz": enc(results),
        f"backups/{b}/{b}-logs.gz": gzip.compress(log.encode()),
        f"backups/{f}/{f}-logs.gz": gzip.compress(failed_log.encode()),
        f"restores/{r}/restore-{r}-results.gz": enc(restore_results),
        f"restores/{r}/restore-{r}-logs.gz": gzip.compress(restore_log.encode()),
        # Not Velero's: what a results key may hold when something else wrote it, or the upload was cut.
        "backups/corrupt-notgzip/corrupt-notgzip-results.gz": b"<html><body>502 Bad Gateway</body></html>",
        "backups/corrupt-truncated/corrupt-truncated-results.gz": truncated[: len(truncated) // 2],
        "backups/corrupt-huge/corrupt-huge-results.gz": secrets.token_bytes(1536 * 1024),
        "backups/corrupt-bomb/corrupt-bomb-results.gz": gzip.compress(b"0" * (20 << 20)),
    }
    return objects


# ---------------------------------------------------------------- restore-check's backups
#
# Whole Velero backups as Velero lays them out in the BSL (vmware-tanzu/velero v1.17.2):
# backups/<b>/velero-backup.json (the Backup), <b>.tar.gz (pkg/backup/backup.go: gzip of a Go archive/tar
# stream, PAX headers for long names; metadata/version first, then each item at
# resources/<resource>[.<group>]/namespaces/<ns>/<name>.json and again under <version>-preferredversion/,
# item_backupper.go + pkg/archive/filesystem.go), <b>-resource-list.json.gz ({"<group>/<version>/<Kind>":
# ["<ns>/<name>", ...]}, pkg/backup/request.go), <b>-volumeinfo.json.gz (internal/volume
# volumes_information.go), <b>-results.gz and <b>-logs.gz. Names are fixed: fixtures refer to them.
RESTORE_CHECK = {
    "ready": "dr-ready-20261201020000",        # Completed; namespace webshop; one CSI snapshot, one skipped volume
    "crd": "dr-crd-20261201020000",            # holds example.com/v1 Widgets and not their CRD
    "gold": "dr-gold-20261201020000",          # a PVC of StorageClass gold-retain (not in the fixture cluster)
    "noclass": "dr-noclass-20261201020000",    # cluster resources excluded: the VolumeSnapshotClass is not in it
    "partial": "dr-partial-20261201020000",    # PartiallyFailed, with results
    "gone": "dr-gone-20261201020000",          # never written here: its Backup exists in the fixture only
}
RC_NS = "webshop"
RC_DRIVER = "csi.vsphere.vmware.com"
RC_VSCLASS = "velero-vsphere-snapshot-class"
RC_PLANTED = "PLANTED-backup-db-pw-5e2a71"


def velero_tarball(items):
    """items: [(resource dir, namespace or None, name, version, object)] -> Velero's <b>.tar.gz bytes."""
    import io
    import tarfile
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(path, data):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o755
            info.mtime = 1764554400
            tar.addfile(info, io.BytesIO(data))
        add("metadata/version", b"1.1.0\n")
        for resource, ns, name, version, obj in items:
            data = json.dumps(obj, separators=(",", ":")).encode()
            scope = f"namespaces/{ns}" if ns else "cluster"
            add(f"resources/{resource}/{scope}/{name}.json", data)
            add(f"resources/{resource}/{version}-preferredversion/{scope}/{name}.json", data)
    return gzip.compress(raw.getvalue())


def rc_backup_objects(name, phase, items, volumes, results=None, errors=0, warnings=0, cluster_resources=True):
    """One backup's objects. items as velero_tarball's; each object carries apiVersion and kind."""
    enc = lambda doc: gzip.compress((json.dumps(doc, separators=(",", ":")) + "\n").encode())
    resources = {}
    for _, ns, item, _, obj in items:
        key = f"{obj['apiVersion']}/{obj['kind']}"
        resources.setdefault(key, []).append(f"{ns}/{item}" if ns else item)
    for v in resources.values():
        v.sort()
    backup = {"apiVersion": "velero.io/v1", "kind": "Backup",
              "metadata": {"name": name, "namespace": "velero", "creationTimestamp": "2026-12-01T02:00:00Z",
                           "labels": {"velero.io/storage-location": "default"},
                           "annotations": {"velero.io/source-cluster-k8s-gitversion": "v1.31.4",
                                           "velero.io/source-cluster-k8s-major-version": "1",
                                           "velero.io/source-cluster-k8s-minor-version": "31"}},
              "spec": {"includedNamespaces": [RC_NS], "includeClusterResources": cluster_resources or None,
                       "snapshotVolumes": True, "storageLocation": "default", "ttl": "720h0m0s",
                       "csiSnapshotTimeout": "10m0s", "itemOperationTimeout": "4h0m0s"},
              "status": {"phase": phase, "version": 1, "formatVersion": "1.1.0",
                         "startTimestamp": "2026-12-01T02:00:00Z", "completionTimestamp": "2026-12-01T02:01:00Z",
                         "expiration": "2026-12-31T02:00:00Z", "errors": errors, "warnings": warnings,
                         "progress": {"totalItems": len(items), "itemsBackedUp": len(items)}}}
    d = f"backups/{name}"
    log = logrus_line("2026-12-01T02:00:00Z", "info", "Setting up backup log", backup=f"velero/{name}",
                      logSource="pkg/controller/backup_controller.go:651")
    return {
        f"{d}/velero-backup.json": json.dumps(backup).encode(),
        f"{d}/{name}.tar.gz": velero_tarball(items),
        f"{d}/{name}-resource-list.json.gz": enc(resources),
        f"{d}/{name}-volumeinfo.json.gz": enc(volumes),
        f"{d}/{name}-results.gz": enc(results or {}),
        f"{d}/{name}-logs.gz": gzip.compress(log.encode()),
    }


def rc_items(storage_class="vsphere-sc", cluster_resources=True, widgets=False):
    """The webshop application: a Deployment, a Service, a ConfigMap, two PVCs (data snapshotted through
    CSI, cache skipped by a volume policy), their PVs, the VolumeSnapshot and its class, an Event."""
    ns = RC_NS
    meta = lambda name, **extra: dict({"name": name, "namespace": ns}, **extra)
    vs_name = "velero-data-7xk2p"
    pvc = lambda name, vs=None: {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": meta(name, labels={"app": "webshop"}, annotations=(
            {"velero.io/volume-snapshot-name": vs, "pv.kubernetes.io/bind-completed": "yes"} if vs else
            {"pv.kubernetes.io/bind-completed": "yes"})),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                 "storageClassName": storage_class, "volumeMode": "Filesystem", "volumeName": f"pvc-webshop-{name}"},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}}
    pv = lambda name: {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"pvc-webshop-{name}"},
        "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}, "storageClassName": storage_class,
                 "persistentVolumeReclaimPolicy": "Delete",
                 "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": name},
                 "csi": {"driver": RC_DRIVER, "fsType": "ext4", "volumeHandle": f"4d1f{name}-2b3c-4d5e-8f90-a1b2c3d4e5f6",
                         "volumeAttributes": {"type": "vSphere CNS Block Volume"}}},
        "status": {"phase": "Bound"}}
    items = [
        ("configmaps", ns, "app-config", "v1", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("app-config"), "data": {"MODE": "production"}}),
        ("deployments.apps", ns, "web", "v1", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"),
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "registry.example/webshop:4.2"}]}}}}),
        ("services", ns, "web", "v1", {"apiVersion": "v1", "kind": "Service", "metadata": meta("web"), "spec": {"ports": [{"port": 80}]}}),
        ("persistentvolumeclaims", ns, "data", "v1", pvc("data", vs_name)),
        ("persistentvolumeclaims", ns, "cache", "v1", pvc("cache")),
        ("volumesnapshots.snapshot.storage.k8s.io", ns, vs_name, "v1", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": meta(vs_name, labels={"velero.io/backup-name": "x"}),
            "spec": {"source": {"persistentVolumeClaimName": "data"}, "volumeSnapshotClassName": RC_VSCLASS},
            "status": {"boundVolumeSnapshotContentName": "snapcontent-3e4f", "readyToUse": True}}),
        ("events", ns, "web.17f2a", "v1", {"apiVersion": "v1", "kind": "Event", "metadata": meta("web.17f2a"), "reason": "Scheduled"}),
        # A Secret of the application: restore-check reads only volume entries of the tarball, so its value
        # (RC_PLANTED, base64 as Kubernetes stores it) must appear in no output (tests/secrecy.rs).
        ("secrets", ns, "db-credentials", "v1", {"apiVersion": "v1", "kind": "Secret", "metadata": meta("db-credentials"), "type": "Opaque",
            "data": {"password": base64.b64encode(RC_PLANTED.encode()).decode()}, "stringData": None}),
    ]
    if widgets:
        items.append(("widgets.example.com", ns, "cart", "v1", {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("cart"), "spec": {}}))
    if cluster_resources:
        items += [
            ("namespaces", None, ns, "v1", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            ("persistentvolumes", None, "pvc-webshop-data", "v1", pv("data")),
            ("persistentvolumes", None, "pvc-webshop-cache", "v1", pv("cache")),
            ("volumesnapshotclasses.snapshot.storage.k8s.io", None, RC_VSCLASS, "v1", {"apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotClass", "metadata": {"name": RC_VSCLASS, "labels": {"velero.io/csi-volumesnapshot-class": "true"}},
                "driver": RC_DRIVER, "deletionPolicy": "Retain"}),
        ]
    return items


def rc_volumes():
    return [
        {"pvcName": "data", "pvcNamespace": RC_NS, "pvName": "pvc-webshop-data", "backupMethod": "CSISnapshot",
         "snapshotDataMoved": False, "preserveLocalSnapshot": False, "skipped": False, "result": "succeeded",
         "startTimestamp": "2026-12-01T02:00:10Z",
         "csiSnapshotInfo": {"snapshotHandle": "4ddata-2b3c+5e6f7a8b", "size": 10737418240, "driver": RC_DRIVER,
                             "vscName": "snapcontent-3e4f", "operationID": "", "ReadyToUse": True},
         "pvInfo": {"reclaimPolicy": "Delete", "labels": {}}},
        {"pvcName": "cache", "pvcNamespace": RC_NS, "pvName": "pvc-webshop-cache", "snapshotDataMoved": False,
         "preserveLocalSnapshot": False, "skipped": True, "skippedReason": "csiSnapshot: skipped due to resource policy",
         "pvInfo": {"reclaimPolicy": "Delete", "labels": {}}},
    ]


def restore_check_objects():
    rc = RESTORE_CHECK
    partial_results = {"errors": {"namespaces": {RC_NS: [hook_message(
        "Error backing up item", "error executing custom action (groupResource=persistentvolumeclaims, namespace=webshop, "
        "name=cache): timed out waiting for the snapshot", "persistentvolumeclaims", "cache")]}},
        "warnings": {"velero": [hook_message("Volume snapshot location not found; snapshots will not be taken")]}}
    objects = {}
    objects.update(rc_backup_objects(rc["ready"], "Completed", rc_items(), rc_volumes()))
    objects.update(rc_backup_objects(rc["crd"], "Completed", rc_items(widgets=True), rc_volumes()))
    objects.update(rc_backup_objects(rc["gold"], "Completed", rc_items(storage_class="gold-retain"), rc_volumes()))
    objects.update(rc_backup_objects(rc["noclass"], "Completed", rc_items(cluster_resources=False), rc_volumes(), cluster_resources=False))
    objects.update(rc_backup_objects(rc["partial"], "PartiallyFailed", rc_items(), rc_volumes(), partial_results, errors=1, warnings=1))
    return objects

# ---------------------------------------------------------------- the Velero stand-in's objects
# `labctl.py velero-backup put|delete|list NAME [--prefix P]` (lab.json from $VELDR_LAB, else $VELDR_LAB_DIR/lab.json;
# P: the BSL's objectStorage.prefix):
# what Velero writes to and deletes from the BSL for one backup, for the Velero stand-in of veldr verify's
# tests (tests/common/velero.rs). Formats as vmware-tanzu/velero v1.18.1 writes them, each checked there:
# - put: persistBackup (pkg/controller/backup_controller.go) hands PutBackup (pkg/persistence/object_store.go)
#   the log, velero-backup.json, the tarball, then podvolumebackups, volumesnapshots, itemoperations,
#   resource-list, results and volumeinfo (keys of pkg/persistence/object_store_layout.go), the .json.gz
#   ones as encode.ToJSONGzip (gzip of json.Encoder's line); the results as velero_store_objects above.
# - volumeinfo: internal/volume/volumes_information.go, generateVolumeInfoForCSIVolumeSnapshot (backupMethod
#   CSISnapshot, preserveLocalSnapshot true, csiSnapshotInfo with its untagged `ReadyToUse`, no `result`) and
#   generateVolumeInfoForSkippedPV (skipped, skippedReason).
# - delete: objectBackupStore.DeleteBackup lists backups/<b>/ and deletes each object.
# The spec comes as JSON on stdin: {"backup": {...the Backup as it ends...}, "items": N,
#   "errors"/"warnings": [{"namespace", "message", "error", "resource", "name"}],
#   "volumes": [{"pvcNamespace", "pvcName", "pvName", "driver", "snapshotHandle", "size", "vscName"}],
#   "skipped": [{"pvcNamespace", "pvcName", "pvName", "reason"}]}

def lab_json():
    path = os.environ.get("VELDR_LAB") or os.path.join(LAB, "lab.json")
    with open(path) as f:
        return json.load(f)


def swift_session(lab):
    """A token of the lab's application credential and the Swift endpoint of region A (as the plugin finds it)."""
    body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": lab["appcred"]["id"], "secret": lab["appcred"]["secret"]}}}}
    s, h, tb = http("POST", lab["keystone_url"] + "/auth/tokens", body)
    if s != 201:
        raise LabError(f"velero-backup: Keystone answered {s}: {str(tb)[:300]}")
    url = [e["url"] for c in tb["token"]["catalog"] if c["type"] == "object-store"
           for e in c["endpoints"] if e["interface"] == "public" and e["region_id"] == lab["region_a"]][0]
    return h["X-Subject-Token"], url


def gz_json(doc):
    return gzip.compress(velero_json(doc))


def tar_gz(files):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def verify_backup_objects(spec, prefix=""):
    b = spec["backup"]
    name = b["metadata"]["name"]
    bref = f"{b['metadata'].get('namespace', 'velero')}/{name}"
    start = b.get("status", {}).get("startTimestamp") or "2026-12-01T02:00:00Z"
    namespaces = b.get("spec", {}).get("includedNamespaces") or ["*"]
    log, results = [], {"errors": {}, "warnings": {}}
    log.append(logrus_line(start, "info", "Setting up backup temp file", backup=bref, logSource="pkg/controller/backup_controller.go:675"))
    log.append(logrus_line(start, "info", "Setting up plugin manager", backup=bref, logSource="pkg/controller/backup_controller.go:682"))
    for level, key in (("error", "errors"), ("warning", "warnings")):
        for m in spec.get(key, []):
            fields = {k: m[k] for k in ("namespace", "resource", "name") if m.get(k)}
            if m.get("error"):
                fields["error"] = m["error"]
            log.append(logrus_line(start, level, m["message"], backup=bref, logSource="pkg/backup/backup.go:507", **fields))
            msg = hook_message(m["message"], m.get("error"), m.get("resource"), m.get("name"))
            if m.get("namespace"):
                results[key].setdefault("namespaces", {}).setdefault(m["namespace"], []).append(msg)
            else:
                results[key].setdefault("velero", []).append(msg)
    log.append(logrus_line(start, "info", f"Backed up a total of {spec.get('items', 0)} items", backup=bref,
                           logSource="pkg/backup/backup.go:546", progress=""))
    volumeinfo = []
    for v in spec.get("volumes", []):
        volumeinfo.append({
            "pvcName": v["pvcName"], "pvcNamespace": v["pvcNamespace"], "pvName": v["pvName"],
            "backupMethod": "CSISnapshot", "snapshotDataMoved": False, "preserveLocalSnapshot": True, "skipped": False,
            "startTimestamp": start,
            "csiSnapshotInfo": {"snapshotHandle": v["snapshotHandle"], "size": v.get("size", 0), "driver": v["driver"],
                                "vscName": v["vscName"], "operationID": "", "ReadyToUse": True},
            "pvInfo": {"reclaimPolicy": "Delete", "labels": None},
        })
        volumeinfo[-1]["csiSnapshotInfo"].pop("operationID")
    for v in spec.get("skipped", []):
        volumeinfo.append({
            "pvcName": v["pvcName"], "pvcNamespace": v["pvcNamespace"], "pvName": v["pvName"],
            "snapshotDataMoved": False, "preserveLocalSnapshot": False, "skipped": True, "skippedReason": v["reason"],
            "pvInfo": {"reclaimPolicy": "Delete", "labels": None},
        })
    resources = {"v1/Namespace": [n for n in namespaces if n != "*"]}
    pvcs = [f"{v['pvcNamespace']}/{v['pvcName']}" for v in spec.get("volumes", []) + spec.get("skipped", [])]
    if pvcs:
        resources["v1/PersistentVolumeClaim"] = sorted(pvcs)
    files = {"metadata/version": b"1.1.0\n"}
    for n in resources["v1/Namespace"]:
        files[f"resources/namespaces/cluster/{n}.json"] = json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}).encode()
    d = f"{prefix}/backups/{name}" if prefix else f"backups/{name}"
    key = f"{d}/{name}"
    return {
        f"{key}-logs.gz": gzip.compress("".join(log).encode()),
        f"{d}/velero-backup.json": (json.dumps(b, indent=2) + "\n").encode(),
        f"{key}.tar.gz": tar_gz(files),
        f"{key}-podvolumebackups.json.gz": gz_json(None),
        f"{key}-volumesnapshots.json.gz": gz_json(None),
        f"{key}-itemoperations.json.gz": gz_json([]),
        f"{key}-resource-list.json.gz": gz_json(resources),
        f"{key}-results.gz": gz_json(results),
        f"{key}-volumeinfo.json.gz": gz_json(volumeinfo),
    }


def backup_keys(url, tok, container, name, prefix=""):
    d = f"{prefix}/backups/{name}/" if prefix else f"backups/{name}/"
    s, _, body = http("GET", f"{url}/{container}?format=json&prefix={urllib.parse.quote(d)}", token=tok)
    if s == 204:
        return []
    if s != 200:
        raise LabError(f"velero-backup: listing {container} answered {s}")
    return [o["name"] for o in body]


def cmd_velero_backup(argv):
    prefix = ""
    if len(argv) == 4 and argv[2] == "--prefix":
        prefix, argv = argv[3].strip("/"), argv[:2]
    if len(argv) != 2 or argv[0] not in ("put", "delete", "list"):
        print("usage: labctl.py velero-backup put|delete|list NAME [--prefix BSL_PREFIX]  (put reads its spec as JSON on stdin)",
              file=sys.stderr)
        return 2
    action, name = argv
    lab = lab_json()
    container = lab["containers"]["main"]["name"]
    tok, url = swift_session(lab)
    if action == "put":
        spec = json.load(sys.stdin)
        if spec["backup"]["metadata"]["name"] != name:
            raise LabError("velero-backup put: the spec's backup is not " + name)
        for key, body in verify_backup_objects(spec, prefix).items():
            s, _, b = http("PUT", f"{url}/{container}/{key}", body=body, token=tok,
                           headers={"Content-Type": "application/octet-stream"})
            if s != 201:
                raise LabError(f"velero-backup: PUT {key} answered {s}: {str(b)[:200]}")
    elif action == "delete":
        for key in backup_keys(url, tok, container, name, prefix):
            s, _, _ = http("DELETE", f"{url}/{container}/{urllib.parse.quote(key)}", token=tok)
            if s not in (204, 404):
                raise LabError(f"velero-backup: DELETE {key} answered {s}")
    print(json.dumps(backup_keys(url, tok, container, name, prefix)))
    return 0


# ---------------------------------------------------------------- backup.inventory / backup.coverage
# Complete Velero backups (velero-backup.json, <b>.tar.gz, <b>-volumeinfo.json.gz, logs, results) of the
# fixture clusters' Schedule `daily` (tests/fixtures/clusters/healthy/backups.yaml), under the BSL prefixes the
# lab-inventory-* and lab-coverage-* scenarios use, each prefix set up for one case. Formats: Velero v1.17.1
# (pkg/persistence/object_store.go PutBackup; internal/volume/volumes_information.go BackupVolumeInfo;
# gzip of json.Encoder's output, so a trailing newline).

HEALTHY_DAILY = ["daily-20261129020000", "daily-20261128020000", "daily-20261127020000"]
HEALTHY_PVCS = [("shop", "data-postgres-0", "pvc-0b6c2a4e-7f1d-4b5e-9c3a-1d2e3f4a5b6c", 10737418240),
                ("shop", "uploads", "pvc-5d9e8f7a-2b3c-4d1e-8f6a-7b8c9d0e1f2a", 5368709120)]
OTHER_CLUSTER_BACKUP = "other-daily-20261129010000"   # another cluster's, in the `shared` prefix
UNSYNCED_BACKUP = "daily-20261126020000"              # in the `stalled` prefix, no Backup in the cluster
# How long after the lab's start Swift deletes the `expiring` prefix's newest backup (X-Delete-At): sooner
# than the Backup's own expiration (720h after it ran), later than any test run.
EXPIRING_AFTER_DAYS = 5


def velero_json(doc):
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def tarball(backup):
    """A minimal backup tarball (metadata/version, as Velero writes first): what a reader can open."""
    import io
    import tarfile
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as t:
        data = b"1\n"
        info = tarfile.TarInfo("metadata/version")
        info.size = len(data)
        info.mtime = 1796176800
        t.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def backup_metadata(name, schedule, gitversion="v1.31.4"):
    return {"apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": name, "namespace": "velero",
                         "labels": {"velero.io/schedule-name": schedule, "velero.io/storage-location": "default"},
                         "annotations": {"velero.io/source-cluster-k8s-gitversion": gitversion,
                                         "velero.io/source-cluster-k8s-major-version": "1",
                                         "velero.io/source-cluster-k8s-minor-version": gitversion.split(".")[1]}},
            "spec": {"includedNamespaces": ["shop"], "snapshotVolumes": True, "storageLocation": "default", "ttl": "720h0m0s"},
            "status": {"phase": "Completed", "version": 1, "formatVersion": "1.1.0"}}


def volume_infos(skipped=()):
    """BackupVolumeInfo entries for the healthy PVCs: CSI snapshots that succeeded, or skipped as named."""
    out = []
    for ns, pvc, pv, size in HEALTHY_PVCS:
        base = {"pvcName": pvc, "pvcNamespace": ns, "pvName": pv, "snapshotDataMoved": False,
                "pvInfo": {"reclaimPolicy": "Delete", "labels": None}}
        reason = dict(skipped).get(pvc)
        if reason:
            out.append({**base, "preserveLocalSnapshot": False, "skipped": True, "skippedReason": reason})
        else:
            out.append({**base, "backupMethod": "CSISnapshot", "preserveLocalSnapshot": True, "skipped": False,
                        "startTimestamp": "2026-11-29T02:00:01Z", "completionTimestamp": "2026-11-29T02:00:09Z", "result": "succeeded",
                        "csiSnapshotInfo": {"snapshotHandle": f"4a1d5e2c-{pvc}+6f0c", "size": size, "driver": "csi.vsphere.vmware.com",
                                            "vscName": f"snapcontent-{pvc}", "operationID": f"{ns}/velero-{pvc}-x/2026-11-29T02:00:01Z",
                                            "ReadyToUse": True}})
    return out


def backup_objects(prefix, name, schedule="daily", gitversion="v1.31.4", skipped=(), without=(), headers=None):
    """Every object Velero writes for a finished backup, less `without` (file names); `headers` on each."""
    enc = lambda doc: gzip.compress(velero_json(doc))
    files = {
        "velero-backup.json": velero_json(backup_metadata(name, schedule, gitversion)),
        f"{name}.tar.gz": tarball(name),
        f"{name}-logs.gz": gzip.compress(logrus_line("2026-11-29T02:00:00Z", "info", "Setting up backup temp file",
                                                      backup=f"velero/{name}").encode()),
        f"{name}-results.gz": enc({"errors": {}, "warnings": {}}),
        f"{name}-volumeinfo.json.gz": enc(volume_infos(skipped)),
        f"{name}-resource-list.json.gz": enc({"v1/PersistentVolumeClaim": [f"{ns}/{pvc}" for ns, pvc, _, _ in HEALTHY_PVCS]}),
    }
    d = f"{prefix}/backups/{name}" if prefix else f"backups/{name}"
    return [(f"{d}/{f}", body, dict(headers or {})) for f, body in files.items() if f not in without]


def inventory_store_objects():
    """The objects of the inventory and coverage cases and what the tests need to know of them."""
    now = int(time.time())
    delete_at = now + EXPIRING_AFTER_DAYS * 86400
    objs = []
    # `backups/` (the healthy BSL, no prefix): complete, and the PartiallyFailed nightly backup's metadata and
    # tarball beside the results and log velero_store_objects() writes.
    for b in HEALTHY_DAILY:
        objs += backup_objects("", b)
    objs += [o for o in backup_objects("", VELERO_PARTIAL, schedule="nightly") if o[0].endswith((".json", ".tar.gz"))]
    # A BSL with a prefix holding complete objects (the healthy counterpart).
    for b in HEALTHY_DAILY:
        objs += backup_objects("cluster-a", b)
    # Objects gone behind Velero's back: one backup's directory entirely, another's tarball.
    objs += backup_objects("gone", HEALTHY_DAILY[0])
    objs += backup_objects("gone", HEALTHY_DAILY[2], without=(f"{HEALTHY_DAILY[2]}.tar.gz",))
    # Swift's object expiry sooner than the Backup's: the newest backup's objects carry X-Delete-At.
    objs += backup_objects("expiring", HEALTHY_DAILY[0], headers={"X-Delete-At": str(delete_at)})
    for b in HEALTHY_DAILY[1:]:
        objs += backup_objects("expiring", b)
    # Another cluster (Kubernetes v1.29.6, Schedule other-daily) writing to the same prefix.
    for b in HEALTHY_DAILY:
        objs += backup_objects("shared", b)
    objs += backup_objects("shared", OTHER_CLUSTER_BACKUP, schedule="other-daily", gitversion="v1.29.6")
    # A backup in the BSL that sync never brought into the cluster.
    for b in HEALTHY_DAILY:
        objs += backup_objects("stalled", b)
    objs += backup_objects("stalled", UNSYNCED_BACKUP)
    # The newest backup's volumeinfo records a skipped volume.
    skip = ("uploads", "volumeSnapshot: matched action is 'skip' in chosen resource policies;")
    objs += backup_objects("skipped", HEALTHY_DAILY[0], skipped=[skip])
    for b in HEALTHY_DAILY[1:]:
        objs += backup_objects("skipped", b)
    return {"objects": objs, "prefixes": ["cluster-a", "gone", "expiring", "shared", "stalled", "skipped"],
            "expiring": {"backup": HEALTHY_DAILY[0], "delete_at": delete_at},
            "gone": {"missing": HEALTHY_DAILY[1], "without_tarball": HEALTHY_DAILY[2]},
            "other_cluster": {"backup": OTHER_CLUSTER_BACKUP, "gitversion": "v1.29.6"},
            "unsynced": UNSYNCED_BACKUP, "skipped": {"backup": HEALTHY_DAILY[0], "pvc": "shop/uploads", "reason": skip[1]}}


def put_objects(container_url, token, objects, workers=8):
    """PUTs (name, body, headers) objects, a few at a time (the lab's Swift answers each in ~20 ms)."""
    from concurrent.futures import ThreadPoolExecutor

    def put(o):
        name, body, headers = o
        h = {"Content-Type": "application/octet-stream", **headers}
        expect(http("PUT", f"{container_url}/{name}", body=body, token=token, headers=h), 201, what=f"PUT {name}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(put, objects))


def write_env(lab):
    pairs = {
        "KEYSTONE_URL": lab["keystone_url"], "KEYSTONE_ROOT": lab["keystone_root"],
        "SWIFT_A": lab["swift_a"], "SWIFT_B": lab["swift_b"],
        "REGION_A": lab["region_a"], "REGION_B": lab["region_b"],
        "ADMIN_USERNAME": lab["admin"]["username"], "ADMIN_PASSWORD": lab["admin"]["password"],
        "PROJECT_ID": lab["project_id"], "PROJECT_NAME": lab["project_name"], "ACCOUNT": lab["account"],
        "USER_ID": lab["user"]["id"], "USER_NAME": lab["user"]["name"],
        "USER_PASSWORD": lab["user"]["password"],
        "APPCRED_ID": lab["appcred"]["id"], "APPCRED_NAME": lab["appcred"]["name"],
        "APPCRED_SECRET": lab["appcred"]["secret"],
        "APPCRED_EXPIRING_ID": lab["appcred_expiring"]["id"],
        "APPCRED_EXPIRING_SECRET": lab["appcred_expiring"]["secret"],
        "APPCRED_EXPIRING_EXPIRES_AT": lab["appcred_expiring"]["expires_at"],
        "APPCRED_DELETED_ID": lab["appcred_deleted"]["id"],
        "APPCRED_DELETED_SECRET": lab["appcred_deleted"]["secret"],
        "READER_USER_ID": lab["reader"]["user_id"], "READER_APPCRED_ID": lab["reader"]["appcred_id"],
        "READER_APPCRED_SECRET": lab["reader"]["appcred_secret"],
        "CONTAINER": lab["containers"]["main"]["name"], "CONTAINER_KEY": lab["containers"]["main"]["key"],
        "CONTAINER_NOKEY": lab["containers"]["nokey"]["name"],
        "CONTAINER_KEY2ONLY": lab["containers"]["key2only"]["name"],
        "CONTAINER_KEY2": lab["containers"]["key2only"]["key2"],
        "ACCOUNT_KEY": lab["account_key"],
        "OBJECT": lab["object"]["name"], "OBJECT_BODY": lab["object"]["body"],
    }
    write(os.path.join(LAB, "lab.env"),
          "".join(f"LAB_{k}={shlex.quote(str(v))}\n" for k, v in pairs.items()), 0o600)


# ---------------------------------------------------------------- commands

def cmd_start():
    t0 = time.time()
    deadline = t0 + TIMEOUT
    stop_names()  # a previous lab in the same dir
    if os.path.isdir(LAB):
        subprocess.run(["rm", "-rf", LAB], check=True)
    os.makedirs(LOG_DIR)
    open(PIDS, "w").close()
    names = ["keystone", *SWIFT_SERVERS, *PROXIES, "syslog"]
    st = {"ports": dict(zip(names, free_ports(len(names)))),
          "admin_password": secrets.token_urlsafe(18),
          "swift_password": secrets.token_urlsafe(18)}
    write(STATE, json.dumps(st, indent=1), 0o600)
    write_configs(st)
    env = ks_env()

    # keystone db_sync is the long pole: start it first, then Swift meanwhile.
    kconf = os.path.join(KS_DIR, "keystone.conf")
    kdb = subprocess.Popen([os.path.join(BIN, "keystone-manage"), "--config-file", kconf, "db_sync"], env=env, cwd=LAB,
                           stdin=subprocess.DEVNULL, start_new_session=True,
                           stdout=open(os.path.join(LOG_DIR, "keystone-manage.log"), "ab"),
                           stderr=subprocess.STDOUT)
    add_pid("keystone-db_sync", kdb.pid)
    build_rings(st)
    swenv = dict(os.environ, PYTHONWARNINGS="ignore")
    procs = {k: spawn(k, swift_argv(k), swenv) for k in SWIFT_SERVERS}
    procs.update(start_proxies())

    try:
        rc = kdb.wait(timeout=max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        raise LabError(f"keystone-manage db_sync did not finish within {TIMEOUT:.0f} s", os.path.join(LOG_DIR, "keystone-manage.log"))
    remove_pid("keystone-db_sync", kdb.pid)
    if rc != 0:
        raise LabError(f"keystone-manage db_sync failed (rc={rc})", os.path.join(LOG_DIR, "keystone-manage.log"))
    kport = st["ports"]["keystone"]
    kurl = f"http://127.0.0.1:{kport}"
    run_step("keystone-manage", [
        os.path.join(BIN, "keystone-manage"), "--config-file", kconf, "bootstrap",
        "--bootstrap-password", st["admin_password"],
        "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
        "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
        "--bootstrap-region-id", "RegionOne",
        "--bootstrap-admin-url", kurl + "/v3", "--bootstrap-public-url", kurl + "/v3",
        "--bootstrap-internal-url", kurl + "/v3"], env, deadline)
    procs["keystone"] = spawn("keystone", [
        os.path.join(BIN, "gunicorn"), "--no-control-socket",
        "--bind", f"127.0.0.1:{kport}", "--workers", "1", "--worker-class", "gthread", "--threads", "4",
        "--timeout", "120", "--chdir", KS_DIR, "--access-logfile", "-",
        "lab_keystone_app:application"], env)

    checks = {k: (lambda p=st["ports"][k]: tcp_open(p)) for k in SWIFT_SERVERS}
    for p in PROXIES:
        checks[p] = lambda port=st["ports"][p]: answers(f"http://127.0.0.1:{port}/healthcheck", (200,))
    checks["keystone"] = lambda: answers(kurl + "/v3", (200,))
    wait_all(checks, procs, deadline)
    t_up = time.time() - t0

    lab = provision(st)
    path = os.path.join(LAB, "lab.json")
    write(path, json.dumps(lab, indent=2) + "\n", 0o600)
    write_env(lab)
    say(f"up in {t_up:.1f} s, provisioned in {time.time() - t0:.1f} s; keystone :{kport}, "
        f"swift A :{st['ports']['proxy-a']}, B :{st['ports']['proxy-b']}")
    print(path)


def load_state():
    try:
        with open(STATE) as f:
            return json.load(f)
    except OSError:
        raise LabError(f"no lab in {LAB} (run lab/lab.sh start)")


def cmd_status():
    st = load_state()
    ports = st["ports"]
    bad = []
    if not answers(f"http://127.0.0.1:{ports['keystone']}/v3", (200,)):
        bad.append("keystone")
    for k in SWIFT_SERVERS:
        if not tcp_open(ports[k]):
            bad.append(k)
    for p in PROXIES:
        if not answers(f"http://127.0.0.1:{ports[p]}/healthcheck", (200,)):
            bad.append(p)
    if bad:
        print(f"down: {' '.join(bad)}")
        return 1
    print(f"up: keystone :{ports['keystone']}, swift A :{ports['proxy-a']}, B :{ports['proxy-b']}")
    return 0


def cmd_swift_stop():
    stop_names(set(PROXIES))
    return 0


def cmd_swift_start():
    st = load_state()
    stop_names(set(PROXIES))
    procs = start_proxies()
    checks = {p: (lambda port=st["ports"][p]: answers(f"http://127.0.0.1:{port}/healthcheck", (200,)))
              for p in PROXIES}
    wait_all(checks, procs, time.time() + TIMEOUT)
    return 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        if cmd == "start":
            try:
                cmd_start()
            except BaseException:
                stop_names()
                raise
            return 0
        if cmd == "stop":
            stop_names()
            return 0
        if cmd == "status":
            return cmd_status()
        if cmd == "swift-stop":
            return cmd_swift_stop()
        if cmd == "swift-start":
            return cmd_swift_start()
        if cmd == "velero-backup":
            return cmd_velero_backup(sys.argv[2:])
        print("usage: labctl.py start|stop|status|swift-stop|swift-start|velero-backup", file=sys.stderr)
        return 2
    except LabError as e:
        say(f"ERROR: {e}")
        if e.log:
            say(f"--- last lines of {e.log} ---")
            print(tail(e.log), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
