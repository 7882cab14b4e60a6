"""Operations: the Docker files, hamyarctl (status, ping, backup, restore, replay), and Hamyar
spread over several hosts with CURVE on.

- docker-compose.yml is checked against the Compose specification's JSON schema (fetched by
  docker/compose-schema.sh) and against the keys `docker stack deploy` accepts (written out here
  by hand from docker/cli's schema 3.8, no package ships it), then for what Hamyar needs.
- docker/Dockerfile is read, and its build stage is run outside Docker, in a copy of the build
  context, with its own commands: no Docker engine runs here, so this is what can be built.
- A backup taken while clients write restores to a consistent store.
- The multi-host test puts the gateway, every service and two reporting replicas in network
  namespaces of their own joined by a private bridge (netns.py; addresses 10.213.0.0/24 exist
  only in those namespaces) and drives the API from another namespace; a key that is not in the
  allow-list gets no answer and no event, and the refusal is logged.
"""
import fnmatch
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import netns
from harness import BUILD, ROOT, TEST_OFFICES, Cluster, check, eq, person
from netns import KEY_NAMES, PUB_PORT, bin_path, built_services, clean_env, ctl, services_in_tree

RUNTIME_BASE = {"libc6"}   # in debian:12-slim already



# ---- the compose file ----------------------------------------------------------------------

# What docker/cli's compose schema 3.8 (the one `docker stack deploy` checks) allows, level by
# level. Hand-written from that schema: a key outside these sets makes `docker stack deploy`
# refuse the file, even where `docker compose` would take it.
SWARM_TOP = {"version", "services", "networks", "volumes", "secrets", "configs"}
SWARM_SERVICE = {
    "deploy", "build", "cap_add", "cap_drop", "cgroup_parent", "command", "configs",
    "container_name", "credential_spec", "depends_on", "devices", "dns", "dns_search",
    "domainname", "entrypoint", "env_file", "environment", "expose", "external_links",
    "extra_hosts", "healthcheck", "hostname", "image", "init", "ipc", "isolation", "labels",
    "links", "logging", "mac_address", "network_mode", "networks", "pid", "ports", "privileged",
    "read_only", "restart", "security_opt", "shm_size", "secrets", "sysctls", "stdin_open",
    "stop_grace_period", "stop_signal", "tmpfs", "tty", "ulimits", "user", "userns_mode",
    "volumes", "working_dir",
}
SWARM_BUILD = {"context", "dockerfile", "args", "labels", "cache_from", "network", "target", "shm_size"}
SWARM_HEALTHCHECK = {"disable", "interval", "retries", "test", "timeout", "start_period"}
SWARM_DEPLOY = {"mode", "endpoint_mode", "replicas", "labels", "rollback_config", "update_config",
                "resources", "restart_policy", "placement"}
SWARM_RESTART = {"condition", "delay", "max_attempts", "window"}
SWARM_UPDATE = {"parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"}
SWARM_PLACEMENT = {"constraints", "preferences", "max_replicas_per_node"}
SWARM_PORT = {"mode", "target", "published", "protocol"}
SWARM_MOUNT = {"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs"}
SWARM_SECRET_REF = {"source", "target", "uid", "gid", "mode"}
SWARM_SECRET = {"name", "file", "external", "labels", "driver", "driver_opts", "template_driver"}
SWARM_VOLUME = {"name", "driver", "driver_opts", "external", "labels"}
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


def _extra(where, keys, allowed, errors):
    for k in keys:
        if k not in allowed and not k.startswith("x-"):
            errors.append(f"{where}: {k} is not accepted by docker stack deploy")


def _swarm_check(doc):
    """Errors for what the compose file uses beyond docker/cli's schema 3.8 (see above)."""
    errors = []
    _extra("top level", doc, SWARM_TOP, errors)
    for name, s in doc.get("services", {}).items():
        w = f"services.{name}"
        _extra(w, s, SWARM_SERVICE, errors)
        if isinstance(s.get("build"), dict):
            _extra(w + ".build", s["build"], SWARM_BUILD, errors)
        hc = s.get("healthcheck", {})
        _extra(w + ".healthcheck", hc, SWARM_HEALTHCHECK, errors)
        for k in ("interval", "timeout", "start_period"):
            if k in hc and not DURATION.match(str(hc[k])):
                errors.append(f"{w}.healthcheck.{k}: {hc[k]!r} is not a Go duration")
        if "stop_grace_period" in s and not DURATION.match(str(s["stop_grace_period"])):
            errors.append(f"{w}.stop_grace_period is not a Go duration")
        if "depends_on" in s and not (isinstance(s["depends_on"], list) and
                                      all(isinstance(x, str) for x in s["depends_on"])):
            errors.append(f"{w}.depends_on: only a list of names (no conditions) in schema 3.x")
        env = s.get("environment", {})
        if isinstance(env, dict):
            for k, v in env.items():
                if not (v is None or isinstance(v, (str, int, float))) or isinstance(v, bool):
                    errors.append(f"{w}.environment.{k}: {v!r} must be a string or number")
        d = s.get("deploy") or {}
        _extra(w + ".deploy", d, SWARM_DEPLOY, errors)
        _extra(w + ".deploy.restart_policy", d.get("restart_policy", {}), SWARM_RESTART, errors)
        _extra(w + ".deploy.update_config", d.get("update_config", {}), SWARM_UPDATE, errors)
        _extra(w + ".deploy.placement", d.get("placement", {}), SWARM_PLACEMENT, errors)
        for p in s.get("ports", []):
            if isinstance(p, dict):
                _extra(w + ".ports", p, SWARM_PORT, errors)
                if not isinstance(p.get("published", 0), int):
                    errors.append(f"{w}.ports.published must be an integer in schema 3.x")
        for v in s.get("volumes", []):
            if isinstance(v, dict):
                _extra(w + ".volumes", v, SWARM_MOUNT, errors)
        for r in s.get("secrets", []):
            if isinstance(r, dict):
                _extra(w + ".secrets", r, SWARM_SECRET_REF, errors)
    for name, v in (doc.get("secrets") or {}).items():
        _extra(f"secrets.{name}", v or {}, SWARM_SECRET, errors)
    for name, v in (doc.get("volumes") or {}).items():
        _extra(f"volumes.{name}", v or {}, SWARM_VOLUME, errors)
    return errors


def _compose_schema():
    path = os.path.join(ROOT, "build", "compose-schema", "compose.schema.json")
    if not os.path.exists(path):
        r = subprocess.run([os.path.join(ROOT, "docker", "compose-schema.sh")], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"cannot fetch the Compose schema (npm): {r.stderr[-800:]}")
    with open(path) as f:
        return json.load(f)


def test_compose_file_is_valid_for_compose_and_swarm():
    import jsonschema
    import yaml
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        doc = yaml.safe_load(f)
    schema = _compose_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
    eq(errors, [], "the Compose specification's schema:")
    eq(_swarm_check(doc), [], "docker stack deploy (schema 3.8):")

    services = doc["services"]
    for s in services_in_tree():
        check(s in services, f"service {s} (services/{s}/main.c) is missing from docker-compose.yml")
    check("gateway" in services, "the gateway")
    check(services["reporting"]["deploy"]["replicas"] >= 2, "reporting runs several replicas")
    volumes_used = []
    for name, s in services.items():
        w = f"services.{name}:"
        check("container_name" not in s, f"{w} container_name breaks replicas and Swarm")
        check(s.get("healthcheck", {}).get("test"), f"{w} a health check")
        test = s["healthcheck"]["test"]
        check(test[:4] == ["CMD", "hamyarctl", "ping", "--service"] and test[4] == name,
              f"{w} the health check pings this service: {test}")
        eq(s.get("restart"), "unless-stopped", f"{w} restart:")
        check(s.get("deploy", {}).get("restart_policy", {}).get("condition") in ("any", "on-failure"),
              f"{w} deploy.restart_policy")
        eq(s["deploy"].get("update_config", {}).get("order"), "stop-first",
           f"{w} never two processes on one LMDB during an update:")
        mounts = [v for v in s.get("volumes", []) if isinstance(v, dict) and v.get("type") == "volume"]
        check(len(mounts) == 1 and mounts[0]["source"] in doc["volumes"] and
              mounts[0]["target"] == "/var/lib/hamyar", f"{w} one named volume on /var/lib/hamyar")
        volumes_used.append(mounts[0]["source"])
        cmd = s["command"]
        eq(cmd[0], "hamyar-" + name, f"{w} runs its program:")
        env = s["environment"]
        eq(env.get("HY_CURVE_NAME"), name, f"{w} CURVE key name:")
        secrets = {r if isinstance(r, str) else r.get("target", r["source"]) for r in s["secrets"]}
        want = {k + ".pub" for k in KEY_NAMES} | {name + ".key"}
        eq(secrets, want, f"{w} its own .key and every .pub (the allow-list):")
        if name in PUB_PORT:
            eq(env.get("HY_PUB_BIND"), f"tcp://0.0.0.0:{PUB_PORT[name]}", f"{w} binds its events:")
            eq(doc["x-hamyar-env"][f"HY_PUB_{name.upper()}"], f"tcp://{name}:{PUB_PORT[name]}",
               f"{w} subscribers find its events:")
        if name != "gateway":
            eq(env.get("HY_BROKER"), "tcp://gateway:7100", f"{w} broker:")
        placement = s["deploy"].get("placement", {}).get("constraints", [])
        if name == "reporting":
            eq(env.get("HY_DATA_PER_REPLICA"), "1", "reporting replicas each take a directory:")
            check("--pub" in cmd and cmd[cmd.index("--pub") + 1] == "none", "reporting publishes nothing")
            eq(placement, [], "reporting may run on any node:")
        else:
            eq(placement, [f"node.labels.hamyar.{name} == true"],
               f"{w} pinned to the node that holds its volume:")
    eq(len(set(volumes_used)), len(volumes_used), "one volume per service:")
    gw = services["gateway"]
    eq(gw["environment"]["HY_BROKER_BIND"], "tcp://0.0.0.0:7100", "the broker listens for services:")
    check(any(p.get("target") == 8080 for p in gw["ports"]), "the API is published")
    for sec, d in doc["secrets"].items():
        eq(d.get("file"), f"./deploy/keys/{sec}", f"secret {sec}:")


# ---- the Dockerfile ------------------------------------------------------------------------

def _dockerfile():
    """[(stage name, base image, [(INSTRUCTION, text)])] of docker/Dockerfile."""
    with open(os.path.join(ROOT, "docker", "Dockerfile")) as f:
        text = f.read()
    lines, cur = [], ""
    for raw in text.splitlines():
        if not cur and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.lstrip().startswith("#"):
            continue
        cur += raw.rstrip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        lines.append(cur.strip())
        cur = ""
    stages = []
    for line in lines:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = rest.split()
            stages.append((parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None,
                           parts[0], []))
        else:
            stages[-1][2].append((word, rest.strip()))
    return stages


def _dockerignored(rel, patterns):
    for p in patterns:
        for q in (p, p[3:] if p.startswith("**/") else None):
            if q and (fnmatch.fnmatch(rel, q) or rel.startswith(q.rstrip("/") + "/")):
                return True
    return False


def _build_context(dest):
    """Copies the repository as `docker build .` would send it (.dockerignore applied)."""
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    check("deploy" in patterns, ".dockerignore keeps deploy/ (CURVE secret keys) out of images")
    for d, dirs, files in os.walk(ROOT):
        rel_d = os.path.relpath(d, ROOT)
        rel_d = "" if rel_d == "." else rel_d
        dirs[:] = [x for x in dirs if not _dockerignored(os.path.join(rel_d, x), patterns)]
        for fn in files:
            rel = os.path.join(rel_d, fn)
            if _dockerignored(rel, patterns):
                continue
            os.makedirs(os.path.join(dest, rel_d), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, rel), os.path.join(dest, rel))


def _needed_packages(binary):
    """Debian packages of the shared libraries binary links directly (NEEDED entries)."""
    out = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    pkgs = set()
    for lib in needed:
        m = re.search(r"^\s*" + re.escape(lib) + r" => (\S+)", ldd, re.M)
        check(m, f"{binary}: {lib} not found by ldd")
        path = os.path.realpath(m.group(1))
        owner = None
        for cand in (path, m.group(1), path.replace("/usr/lib/", "/lib/", 1),
                     path.replace("/lib/", "/usr/lib/", 1)):
            r = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0]
                break
        check(owner, f"{binary}: no Debian package owns {path}")
        pkgs.add(owner)
    return pkgs


def test_dockerfile_build_stage_builds_outside_docker():
    stages = _dockerfile()
    eq(len(stages), 2, "two stages:")
    eq([s[1] for s in stages], ["debian:12-slim", "debian:12-slim"], "both on debian:12-slim:")
    (bname, _, build), (_, _, runtime) = stages
    check(bname, "the build stage is named (COPY --from uses it)")
    users = [t for w, t in runtime if w == "USER"]
    check(users and users[-1].split(":")[0] not in ("root", "0"), f"runs as a non-root user: {users}")
    runtime_runs = " ".join(t for w, t in runtime if w == "RUN")
    check(re.search(r"useradd .*--uid 10001", runtime_runs), "a fixed uid")
    env = " ".join(t for w, t in runtime if w == "ENV")
    for v in ("HY_DATA_DIR=/var/lib/hamyar", "HY_CURVE_DIR=/run/secrets"):
        check(v in env, f"ENV {v}")
    entry = [t for w, t in runtime if w == "ENTRYPOINT"]
    check(entry and entry[-1].startswith("["), "ENTRYPOINT in exec form")
    m = re.search(r"apt-get install -y --no-install-recommends\s+([a-z0-9.+\s-]+?)\s*(&&|$)", runtime_runs)
    check(m, "the runtime stage installs its libraries with apt-get")
    runtime_pkgs = set(m.group(1).split())
    for p in sorted(runtime_pkgs):
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", p], capture_output=True, text=True)
        check(r.returncode == 0 and f"Package: {p}" in r.stdout, f"{p} is not a Debian 12 package")
    programs = ["hamyar-gateway", "hamyarctl"] + ["hamyar-" + s for s in services_in_tree()]

    # The build stage, run here: its WORKDIR is a temporary directory, its COPY instructions
    # copy from a copy of the build context, its RUN instructions run with /bin/sh -c as Docker
    # runs them, with Debian's default PATH and nothing of ours in the environment.
    runs = [t for w, t in build if w == "RUN"]
    check("tools/install-deps.sh --build" in runs, f"the build stage reuses the install step: {runs}")
    check(any(re.search(r"\bmake\b.*\bbuild\b", r) for r in runs), "it builds with make build")
    tmp = tempfile.mkdtemp(prefix="hamyar-docker-")
    try:
        ctx, root = os.path.join(tmp, "context"), os.path.join(tmp, "root")
        _build_context(ctx)
        workdir = None
        denv = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
        for word, text in build:
            if word == "WORKDIR":
                workdir = os.path.join(root, text.lstrip("/"))
                os.makedirs(workdir, exist_ok=True)
            elif word == "COPY":
                *srcs, dst = shlex.split(text)
                check(not any(s.startswith("--") for s in srcs), f"COPY {text}")
                target = os.path.join(workdir, dst) if not dst.startswith("/") else os.path.join(root, dst[1:])
                for s in srcs:
                    src = os.path.normpath(os.path.join(ctx, s))
                    if os.path.isdir(src):
                        shutil.copytree(src, target, dirs_exist_ok=True, symlinks=True)
                    else:
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        shutil.copy2(src, target)
            elif word == "RUN":
                r = subprocess.run(["/bin/sh", "-c", text], cwd=workdir, env=denv,
                                   capture_output=True, text=True, timeout=400)
                check(r.returncode == 0, f"RUN {text} failed:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
        # What the build made links only against libraries the runtime stage installs.
        out_bin = os.path.join(workdir, "build", "release", "bin")
        for prog in programs:
            missing = _needed_packages(os.path.join(out_bin, prog)) - runtime_pkgs - RUNTIME_BASE
            eq(missing, set(), f"{prog} needs libraries the runtime image lacks:")
        # What the runtime stage copies out of the build stage is there.
        for word, text in runtime:
            if word != "COPY":
                continue
            parts = shlex.split(text)
            if parts[0].startswith("--from="):
                for s in parts[1:-1]:
                    got = sorted(os.path.basename(p) for p in glob.glob(os.path.join(root, s.lstrip("/"))))
                    check(got, f"COPY --from: nothing matches {s}")
                    for prog in programs:
                        if fnmatch.fnmatch(prog, os.path.basename(s)):
                            check(prog in got, f"the image would lack {prog}")
            else:
                for s in parts[:-1]:
                    check(os.path.exists(os.path.join(ctx, s)), f"COPY {s}: not in the context")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


test_dockerfile_build_stage_builds_outside_docker.build_free = True   # builds its own tree


def test_entrypoint_gives_each_replica_its_own_directory():
    tmp = tempfile.mkdtemp(prefix="hamyar-entry-")
    entry = os.path.join(ROOT, "docker", "entrypoint.sh")
    env = clean_env(PATH=os.path.join(ROOT, BUILD, "bin") + ":" + os.environ["PATH"],
                     HY_DATA_DIR=os.path.join(tmp, "vol"), HY_DATA_PER_REPLICA="1")
    procs = []
    try:
        def replica(hold):
            p = subprocess.Popen([entry, "sh", "-c", f'echo "$HY_DATA_DIR"; sleep {hold}'], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                 start_new_session=True)
            procs.append(p)
            return p, p.stdout.readline().strip()

        a, da = replica(5)
        b, db = replica(5)
        eq(da, os.path.join(tmp, "vol", "replica-1"), "first replica:")
        eq(db, os.path.join(tmp, "vol", "replica-2"), "second replica, while the first runs:")
        os.killpg(a.pid, signal.SIGKILL)   # the container goes, with every process in it
        a.wait()
        time.sleep(0.3)
        c, dc = replica(0)
        eq(dc, os.path.join(tmp, "vol", "replica-1"), "a restarted replica takes the free directory:")
        r = subprocess.run([entry, "registry", "--help"], env=env, capture_output=True, text=True)
        check(r.returncode == 0 and "usage: hamyar-registry" in r.stdout,
              f"a short name runs hamyar-<name>: {r}")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- backup, restore, status, replay ---------------------------------------------------------

def _all_persons(c):
    items, cursor = [], None
    while True:
        r = c.get("/v1/persons?limit=500" + (f"&cursor={cursor}" if cursor else ""))
        eq(r.status, 200, f"list: {r}")
        items += r.json["items"]
        cursor = r.json.get("next_cursor")
        if not cursor:
            return items


def test_backup_under_write_load_restores_a_consistent_store():
    backup = restored = None
    with Cluster(["registry"]) as c:
        stop = threading.Event()
        done = []          # (time, person id) of every acknowledged registration
        failures = []

        def writer(k):
            n = 0
            while not stop.is_set():
                r = c.post("/v1/persons", person(100000 * (k + 1) + n), timeout=20)
                n += 1
                if r.status == 201:
                    done.append((time.time(), r.json["id"]))
                else:
                    failures.append(r)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            backup = os.path.join(c.dir, "backup")
            t0 = time.time()
            r = ctl(c.env, "backup", "--service", "registry", "--dir", backup)
            t1 = time.time()
            eq(r.returncode, 0, f"backup: {r.stderr}")
            check("backed up into" in r.stdout, r.stdout)
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join()
        eq(failures[:3], [], "every write under load succeeded:")
        before = sum(1 for t, _ in done if t < t0)
        after = sum(1 for t, _ in done if t > t1)
        check(before > 20 and after > 20, f"writes went on before ({before}) and after ({after})")
        offices = c.registry_seq0  # the harness's offices come first
        final_seq = len(c.events_since("registry")) - offices
        eq(final_seq, len(done), "one event per registration in the live store:")
        # Not under a running service: the store is in use.
        live = os.path.join(c.dir, "var", "registry")
        r = ctl(c.env, "restore", "--from", backup, "--data", live, "--force")
        eq(r.returncode, 1, f"restore under a live service is refused: {r.stdout}")
        check("in use" in r.stderr, r.stderr)

        restored = os.path.join(c.dir, "restored")
        r = ctl(c.env, "restore", "--from", backup, "--data", os.path.join(restored, "registry"))
        eq(r.returncode, 0, f"restore: {r.stderr}")
        r = ctl(c.env, "restore", "--from", backup, "--data", os.path.join(restored, "registry"))
        eq(r.returncode, 1, "a second restore without --force is refused")
        r = ctl(c.env, "restore", "--from", backup, "--data", os.path.join(restored, "registry"), "--force")
        eq(r.returncode, 0, f"--force replaces it: {r.stderr}")
        check(os.path.exists(os.path.join(restored, "registry", "data.mdb.pre-restore")),
              "the replaced store is kept")
        # Keep the restored store for the second cluster (the first one's directory goes).
        keep = tempfile.mkdtemp(prefix="hamyar-restored-")
        shutil.copytree(restored, keep, dirs_exist_ok=True)
    with Cluster(["registry"], env={"HY_DATA_DIR": keep}) as c2:
        events = c2.events_since("registry")
        seqs = [e["seq"] for e in events]
        eq(seqs, list(range(1, len(seqs) + 1)), "the restored outbox is gapless:")
        check(before <= len(seqs) - offices < final_seq, f"the backup is a snapshot taken during the load: "
              f"{before} <= {len(seqs) - offices} < {final_seq}")
        registered = [e["subject"] for e in events if e["type"] == "registry.person.registered"]
        eq(len(registered), len(seqs) - offices, "every event but the offices is a registration:")
        persons = _all_persons(c2)
        eq(sorted(p["id"] for p in persons), sorted(registered),
           "the persons are exactly those of the registered events:")
        for pid in registered[:: max(1, len(registered) // 20)]:
            eq(c2.get(f"/v1/persons/{pid}").status, 200, f"{pid} readable:")
        r = c2.post("/v1/persons", person(999999))
        eq(r.status, 201, f"the restored registry takes writes: {r}")
        eq(c2.events_since("registry")[-1]["seq"], len(seqs) + 1, "and numbers on:")
    shutil.rmtree(keep, ignore_errors=True)


def test_status_ping_and_replay():
    services = built_services()
    check("registry" in services, "the registry is built")
    with Cluster(services) as c:
        for n in range(3):
            eq(c.post("/v1/persons", person(n + 1)).status, 201)
        r = ctl(c.env, "status", "--json")
        eq(r.returncode, 0, f"status: {r.stderr}")
        st = json.loads(r.stdout)
        check(st["up"], st)
        for s in services:
            info = st["services"][s]
            check(info["up"] and info["replicas"], f"{s} is up: {info}")
            want = c.events_since(s)[-1]["seq"] if c.events_since(s) else 0
            eq(info["replicas"][0]["seq"], want, f"{s} seq:")
        seq = c.registry_seq0 + 3  # the offices the harness made, then the three persons
        eq(st["services"]["registry"]["replicas"][0]["seq"], seq, "registry seq:")
        table = ctl(c.env, "status").stdout
        for s in services:
            check(re.search(rf"^{s}\s+1\s+\d+\s+\d+", table, re.M), f"{s} in the table:\n{table}")
        check(re.search(rf"^registry\s+1\s+\d+\s+{seq}\s", table, re.M), f"registry seq {seq}:\n{table}")
        eq(ctl(c.env, "ping", "--service", "registry").returncode, 0, "ping registry")
        eq(ctl(c.env, "ping", "--service", "gateway").returncode, 0, "ping gateway (HTTP + broker)")
        eq(ctl(c.env, "ping", "--service", "nosuch").returncode, 1, "ping of a service with no worker")

        if "reporting" in services:
            data = os.path.join(c.dir, "replica-2")
            r = ctl(c.env, "replay", "--service", "reporting", "--data", data, "--dry-run")
            eq(r.stdout.split()[1:], ["--data", data, "--rebuild", "--pub", "none"], "replay command:")
            log = open(os.path.join(c.dir, "replay.log"), "ab")
            c.logs["replay"] = log
            c.procs["replay"] = subprocess.Popen(
                [bin_path("hamyarctl"), "replay", "--service", "reporting", "--data", data],
                env=c.env, stdout=log, stderr=log, cwd=c.dir)
            # Both replicas serve, each with every registry event (the first one may have missed
            # the PUB notifications and catch up by polling events.since, within a second).
            deadline = time.time() + 30
            while time.time() < deadline:
                reps = json.loads(ctl(c.env, "status", "--json").stdout)["services"]["reporting"]
                if reps["workers"] == 2 and len(reps["replicas"]) == 2 and \
                        all(x["sources"]["registry"]["cursor"] == seq for x in reps["replicas"]):
                    break
                time.sleep(0.3)
            eq(reps["workers"], 2, "the replayed replica serves:")
            eq(len(reps["replicas"]), 2, "status shows both replicas:")
            eq([x["sources"]["registry"]["cursor"] for x in reps["replicas"]], [seq, seq],
               "each replica has every registry event:")
            r = ctl(c.env, "replay", "--service", "reporting", "--data", data, "--dry-run")
            eq(r.returncode, 1, "replay into a directory a replica uses is refused")

        if "networks" in services:
            c.kill("networks")
            c.procs["networks"]._expected_dead = True
            time.sleep(3.5)   # the broker forgets a worker silent for 3 s
            st = json.loads(ctl(c.env, "status", "--json").stdout)
            eq(st["services"]["networks"]["up"], False, "a stopped service is shown down")
            check(re.search(r"^networks\s+0\s+down", ctl(c.env, "status").stdout, re.M), "down in the table")
            eq(ctl(c.env, "ping", "--service", "networks").returncode, 1, "ping of a stopped service")
    env = clean_env(HY_BROKER="tcp://127.0.0.1:1")
    eq(ctl(env, "ping", "--service", "registry", "--timeout-ms", "300").returncode, 1,
       "no broker: not healthy")
    eq(ctl(env, "ping", "--service", "registry", "--timeout-ms", "300", "--allow-no-broker").returncode,
       0, "no broker, --allow-no-broker: not this service's fault")
    eq(ctl(env, "status", "--timeout-ms", "300").returncode, 1, "status without a broker fails")


# ---- several hosts, CURVE on ---------------------------------------------------------------

def _api_across_hosts(d, services):
    """One call per service (writes where the service follows the registry's events, so each
    proves events crossed from host to host)."""
    for office in TEST_OFFICES:  # every record names an office that exists
        code, o = d.http("POST", "/v1/offices", office, role="operator")
        eq(code, 201, f"an office: {o}")
    code, p = d.http("POST", "/v1/persons", person(1))
    eq(code, 201, f"register a person: {p}")
    pid = p["id"]
    code, g = d.http("GET", f"/v1/persons/{pid}")
    eq((code, g["national_id"]), (200, p["national_id"]), "get it back:")
    code, b = d.http("POST", "/v1/businesses", {"owner_id": pid, "activity": "خیاطی",
                                                "field": "industry", "stage": "developing"})
    eq(code, 201, f"a business: {b}")
    bid = b["id"]
    if "loans" in services:
        code, prod = d.http("POST", "/v1/loan-products", {"name": "qard al-hasan", "kind": "individual",
                                                          "fee_rate_bp": 400, "term_months": 12})
        eq(code, 201, f"a loan product: {prod}")
        code, loan = d.http("POST", "/v1/loans", {"person_id": pid, "business_id": bid,
                                                  "product_id": prod["id"], "amount_rials": 30000000,
                                                  "purpose": "looms"})
        eq(code, 201, f"a loan application (loans knows the person from the registry's events): {loan}")
    if "networks" in services:
        code, net = d.http("POST", "/v1/networks", {"name": "شبکه پوشاک", "field": "industry",
                                                    "activity": "clothing", "lead_person_id": pid,
                                                    "lead_business_id": bid})
        eq(code, 201, f"a network: {net}")
    if "microfund" in services:
        rules = {"share_value_rials": 10000, "max_shares_per_meeting": 5, "loan_multiple": 3,
                 "service_charge_bp_month": 150, "guarantors_required": 1, "max_term_months": 6,
                 "social_fund_rials": 2000, "guarantor_exposure_multiple": 2}
        code, fund = d.http("POST", "/v1/funds", {"name": "صندوق گل‌ها", "neighbourhood": "شهرری",
                                                  "facilitator_person_id": pid,
                                                  "cycle": {"start": "2024-01-01", "end": "2024-12-31"},
                                                  "rules": rules})
        eq(code, 201, f"a savings fund: {fund}")
    if "insurance" in services:
        code, enr = d.http("POST", "/v1/enrolments", {"person_id": pid, "business_id": bid,
                                                      "field": "industry", "start_date": "2024-07-01"})
        eq(code, 201, f"an insurance enrolment: {enr}")
    if "reporting" in services:
        seen, deadline = 0, time.time() + 20
        while seen < 2 and time.time() < deadline:   # two answers in a row: both replicas
            code, rep = d.http("GET", "/v1/reports/indicators?from=2024-01-01&to=2024-12-31")
            eq(code, 200, f"indicators: {rep}")
            ok = rep.get("as_of", {}).get("registry", {}).get("seq", 0) >= 2
            seen = seen + 1 if ok else 0
            if not ok:
                time.sleep(0.3)
        eq(seen, 2, "both reporting replicas have the registry's events:")
    for s in services:
        if s not in ("registry", "loans", "networks", "microfund", "insurance", "reporting"):
            code, _ = d.http("GET", "/readyz", role=None)
            eq(code, 200, f"{s} is live")
    return pid


def test_multi_host_with_curve():
    check(os.geteuid() == 0, "the multi-host test needs root (network namespaces); CI runs as root")
    services = built_services()
    check("registry" in services, "the registry is built")
    tmp = tempfile.mkdtemp(prefix="hamyar-hosts-")
    hosts = netns.Hosts()
    d = None
    ok = False
    try:
        hosts.setup()
        hosts.add("gateway", 2)
        for i, s in enumerate([x for x in services if x != "reporting"]):
            hosts.add(s, 3 + i)
        if "reporting" in services:
            hosts.add("reporting-1", 20)
            hosts.add("reporting-2", 21)
        hosts.add("client", 30)
        d = netns.Deployment(hosts, tmp, services)
        gw = hosts.addr("gateway")
        d.start("gateway", "gateway", [bin_path("hamyar-gateway")],
                d.env("gateway", "gateway", HY_HTTP_ADDR=gw, HY_HTTP_PORT="8080",
                      HY_BROKER_BIND=f"tcp://{gw}:7100", HY_KEYS_FILE=d.keys_file))
        for s in services:
            if s == "reporting":
                for tag in ("reporting-1", "reporting-2"):
                    d.start(tag, tag, [bin_path("hamyar-reporting"), "--pub", "none"], d.env(tag, "reporting"))
            else:
                d.start(s, s, [bin_path("hamyar-" + s)],
                        d.env(s, s, HY_PUB_BIND=f"tcp://{hosts.addr(s)}:{PUB_PORT.get(s, 7199)}"))
        want = {s: 1 for s in services}
        if "reporting" in services:
            want["reporting"] = 2
        netns.wait_ready(d, want)
        for tag in d.procs:
            check("CURVE on" in d.log(tag), f"{tag} runs with CURVE:\n{d.log(tag)[-800:]}")

        _api_across_hosts(d, services)

        # The operator's tool from another host, with its own key: allowed.
        client_env = d.env("client", "hamyarctl")
        r = subprocess.run(hosts.cmd("client", [bin_path("hamyarctl"), "status", "--json"]), env=client_env,
                           capture_output=True, text=True, timeout=60)
        eq(r.returncode, 0, f"status from the client host: {r.stderr}")
        st = json.loads(r.stdout)
        for s in services:
            check(st["services"][s]["up"], f"{s} up in status: {st['services'][s]}")

        # An intruder: a well-formed key pair that is in nobody's allow-list, knowing the
        # servers' public keys. No answer through the broker, no events from a PUB.
        intr = os.path.join(tmp, "intruder")
        eq(ctl(clean_env(), "curve", "keygen", "intruder", "--dir", intr).returncode, 0)
        for k in ("gateway", "registry"):
            shutil.copy(os.path.join(d.keys, k + ".pub"), intr)
        with open(os.path.join(intr, "intruder.pub")) as f:
            intruder_pub = f.read().strip()
        intr_env = dict(client_env, HY_CURVE_DIR=intr, HY_CURVE_NAME="intruder")
        r = subprocess.run(hosts.cmd("client", [bin_path("hamyarctl"), "ping", "--service", "registry",
                                                "--timeout-ms", "2000"]),
                           env=intr_env, capture_output=True, text=True, timeout=60)
        eq(r.returncode, 1, f"the intruder gets no answer from the broker: {r.stdout} {r.stderr}")
        r = subprocess.run(hosts.cmd("client", [bin_path("hamyarctl"), "status"]), env=intr_env,
                           capture_output=True, text=True, timeout=60)
        eq(r.returncode, 1, "nor a status")

        ep = f"tcp://{hosts.addr('registry')}:{PUB_PORT['registry']}"
        helper = os.path.join(ROOT, "tests", "integration", "netns.py")
        subs = {}
        for tag, cdir, name in (("legit", client_env["HY_CURVE_DIR"], "hamyarctl"),
                                ("intruder", intr, "intruder"), ("plaintext", intr, "-")):
            subs[tag] = subprocess.Popen(hosts.cmd("client", ["/usr/bin/python3", helper, "sub", ep,
                                                              "registry", cdir, name, "4"]),
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for tag, p in subs.items():
            eq(p.stdout.readline().strip(), "ready", f"{tag} subscriber started:")
        time.sleep(1.0)
        code, body = d.http("POST", "/v1/persons", person(2))
        eq(code, 201, f"a registration while they listen: {body}")
        got = {}
        for tag, p in subs.items():
            out, err = p.communicate(timeout=30)
            got[tag] = [l for l in out.splitlines() if l.startswith("event ")]
        check("event registry.person.registered" in got["legit"], f"the allowed key gets events: {got}")
        eq(got["intruder"], [], "the intruder's key gets no event:")
        eq(got["plaintext"], [], "a plaintext subscriber gets no event:")

        glog, rlog = d.log("gateway"), d.log("registry")
        check("refused a connection" in glog and intruder_pub in glog,
              f"the broker logs the refused key:\n{glog[-1500:]}")
        check("refused a connection" in rlog and intruder_pub in rlog,
              f"the registry's PUB logs the refused key:\n{rlog[-1500:]}")
        ok = True
    finally:
        bad = d.stop() if d else []
        left = hosts.cleanup()
        still = netns.leftover_namespaces(hosts.tag)
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"    (logs kept in {tmp})")
    eq(left + still, [], "every namespace removed:")
    eq(bad, [], "every process stopped cleanly:")
