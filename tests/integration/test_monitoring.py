"""/metrics for a scraper (issue 19 item 7): a `monitoring` key reads /metrics and nothing else;
the exposition passes `promtool check metrics` (Debian's prometheus package) and carries each
service's sequence, each follower's lag, the gateway's process figures and its build.
"""
import re
import shutil
import subprocess
import time

from harness import Cluster, check, eq, person


def _monitoring_key(c):
    """Adds a monitoring key (no office) and waits for the gateway to reload its keys file."""
    c.keys["monitoring"] = c.make_key("monitoring", office=None)
    deadline = time.time() + 10
    while c.get("/metrics", key="monitoring").status == 401 and time.time() < deadline:
        time.sleep(0.2)


def _metrics(c, key="monitoring"):
    r = c.get("/metrics", key=key, headers={"Accept": "text/plain"})
    eq(r.status, 200, f"/metrics with {key}: {r}")
    return r.raw.decode()


def _value(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}{{{re.escape(want)}}} (\S+)$", text, re.M) if labels else \
        re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_monitoring_key_reads_metrics_and_nothing_else():
    with Cluster(["registry", "reporting"]) as c:
        _monitoring_key(c)
        _metrics(c, "operator")
        text = _metrics(c)
        check("hamyar_http_requests_total" in text, text[:500])
        for method, path, body in [("GET", "/v1/persons", None), ("POST", "/v1/persons", person(1)),
                                   ("GET", "/v1/offices", None), ("GET", "/v1/audit?entity=prs_1", None),
                                   ("GET", "/v1/reports/half-year?year=1403&half=1", None)]:
            r = c.request(method, path, body=body, key="monitoring")
            eq(r.status, 403, f"{method} {path} with a monitoring key: {r}")
        for role in ("social_services", "auditor", "insurance_fund"):
            eq(c.get("/metrics", key=role).status, 403, f"/metrics with {role}:")
        eq(c.get("/metrics", key=None).status, 401, "/metrics without a key:")


def test_metrics_sequences_lag_process_build_and_promtool():
    promtool = shutil.which("promtool")
    check(promtool, "promtool is not installed (Debian package prometheus; tools/install-deps.sh)")
    with Cluster(["registry", "reporting"]) as c:
        _monitoring_key(c)
        for n in range(3):
            eq(c.post("/v1/persons", person(n + 1)).status, 201)
        seq = c.events_since("registry")[-1]["seq"]
        deadline = time.time() + 20
        text = ""
        while time.time() < deadline:   # the gateway looks every 2 s; reporting follows in < 1 s
            text = _metrics(c)
            if _value(text, "hamyar_service_sequence", service="registry") == seq and \
                    _value(text, "hamyar_follower_lag_events", service="reporting", source="registry") == 0:
                break
            time.sleep(0.3)
        eq(_value(text, "hamyar_service_sequence", service="registry"), seq, "registry's sequence:")
        eq(_value(text, "hamyar_follower_cursor", service="reporting", source="registry"), seq,
           "reporting's cursor on registry:")
        eq(_value(text, "hamyar_follower_lag_events", service="reporting", source="registry"), 0,
           "reporting's lag:")
        eq(_value(text, "hamyar_service_up", service="registry"), 1)
        check(re.search(r'^hamyar_build_info\{version="[0-9.]+",', text, re.M), "build info")
        check((_value(text, "process_resident_memory_bytes") or 0) > 0, "process memory")
        check(_value(text, "process_cpu_seconds_total") is not None, "process CPU")
        check((_value(text, "process_start_time_seconds") or 0) > 1.6e9, "process start time")
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        eq((p.returncode, p.stdout + p.stderr), (0, ""), "promtool check metrics:")
        # A stopped follower shows its lag: reporting down, the registry goes on.
        c.kill("reporting")
        c.procs["reporting"]._expected_dead = True
        eq(c.post("/v1/persons", person(9)).status, 201)
        deadline = time.time() + 20
        while time.time() < deadline:
            text = _metrics(c)
            if _value(text, "hamyar_service_up", service="reporting") == 0 and \
                    _value(text, "hamyar_service_sequence", service="registry") == seq + 1:
                break
            time.sleep(0.3)
        eq(_value(text, "hamyar_service_up", service="reporting"), 0, "reporting down:")
        eq(_value(text, "hamyar_service_sequence", service="registry"), seq + 1)
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        eq((p.returncode, p.stdout + p.stderr), (0, ""), "promtool with a service down:")
