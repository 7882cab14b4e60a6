"""The OpenAPI document checked by tools nobody here wrote (issue #19 item 2).

Prism (@stoplight/prism-cli) runs as a validating proxy with --errors in front of the real
gateway and its six services; a flow sends every route of the document through it, with data
that makes the services answer 2xx, 4xx and 5xx. Any request or response that disagrees with
the document fails the test. Redocly CLI lints the document: no errors.

Both tools come from npm, pinned, through tools/npm-tools.sh (installed on first use; offline
once installed).
"""
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request

from harness import ROOT, Cluster, check, eq, person

SIX = ["registry", "loans", "networks", "microfund", "insurance", "reporting"]
TODAY = "2026-11-25"   # the services' clock (HY_CLOCK): the flow's dates are before it


def _bin():
    out = subprocess.run([os.path.join(ROOT, "tools", "npm-tools.sh")], capture_output=True,
                         text=True, timeout=900)
    check(out.returncode == 0, f"npm-tools.sh failed: {out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


def _doc(c):
    r = c.get("/v1/openapi.json", key=None)
    eq(r.status, 200)
    path = os.path.join(c.dir, "openapi.json")
    with open(path, "wb") as f:
        f.write(r.raw)
    return r.json, path


# ---------------------------------------------------------------- requests from the document --
def _resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        for part in node["$ref"].lstrip("#/").split("/"):
            doc = doc[part] if isinstance(doc, dict) else doc
        node = doc
    return node


# Ids the flow has made, by collection, for the members that name them.
IDS = {}
REFS = {"owner_id": "persons", "person_id": "persons", "lead_person_id": "persons",
        "person_ids": "persons", "member_ids": "persons", "product_id": "loan-products",
        "network_id": "networks", "business_id": "businesses", "lead_business_id": "businesses",
        "fund_id": "funds", "buyer_id": "buyers", "order_id": "orders", "loan_id": "loans",
        "facilitator_person_id": "persons"}


def _value(schema, name=""):
    """A value the schema accepts: the smallest that is plausible."""
    if not isinstance(schema, dict):
        return "x"
    if name in REFS and REFS[name] in IDS:
        return [IDS[REFS[name]]] if name.endswith("_ids") else IDS[REFS[name]]
    if name == "year":
        return 1405
    if name == "targets":
        return {}
    if "enum" in schema:
        return [v for v in schema["enum"] if v is not None][0]
    t = schema.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0]
    if schema.get("examples"):
        return schema["examples"][0]
    if t == "object" or "properties" in schema:
        return _object(schema)
    if t == "array":
        return []
    if t == "integer":
        lo = schema.get("minimum", 1)
        hi = schema.get("maximum", max(lo, 1))
        if name == "year":
            return 1405
        return max(lo, min(1, hi))
    if t == "boolean":
        return False
    if t == "string":
        if schema.get("format") == "date":
            return "2026-11-30" if name in ("end", "to", "until", "end_date") else "2026-11-01"
        if "pattern" in schema:
            return "1405/08/10"
        return {"national_id": "0000202649", "mobile": "09120000001", "office": "rey-1",
                "neighbourhood": "شهرری", "year": "1405"}.get(name, "x")
    return "x"


def _object(schema):
    req = set(schema.get("required", []))
    for alt in schema.get("anyOf", [])[:1]:
        req.update(alt.get("required", []))
    for b in schema.get("allOf", []):
        if b.get("anyOf"):
            req.update(b["anyOf"][0].get("required", []))
    props = schema.get("properties", {})
    return {k: _value(props.get(k, {}), k) for k in sorted(req)}


KEYS = ["social_services", "operator", "insurance_fund", "auditor"]


def _key_for(op):
    roles = op.get("x-roles")
    if roles is None:
        return None
    for k in KEYS:
        if k in roles:
            return k
    return roles[0]


class Exchange:
    def __init__(self, method, path, r):
        self.method, self.path, self.status, self.body = method, path, r.status, r.raw
        self.headers = {k.lower(): v for k, v in r.headers.items()}


def _send(port, c, method, path, body=None, key="social_services", headers=None):
    """A request through Prism at port: the harness's own, sent to another port."""
    gateway, c.http_port = c.http_port, port
    try:
        return Exchange(method, path, c.request(method, path, body=body, key=key, headers=headers,
                                                timeout=30))
    finally:
        c.http_port = gateway


def _start_prism(binp, spec, upstream, port, log):
    p = subprocess.Popen([os.path.join(binp, "prism"), "proxy", spec, upstream, "--errors",
                          "--cors=false", "-h", "127.0.0.1", "-p", str(port)],
                         stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return p, port
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.3)
    p.kill()
    raise AssertionError("Prism did not start")


def _problems(ex):
    """What is wrong with one exchange as Prism saw it: a violation (header or its own error
    document), or an answer the gateway did not write."""
    bad = []
    if "sl-violations" in ex.headers:
        bad.append("violations: " + ex.headers["sl-violations"][:1500])
    if b"stoplight.io/prism/errors" in ex.body[:300]:
        bad.append("prism error: " + ex.body[:1500].decode("utf-8", "replace"))
    elif "x-request-id" not in ex.headers:
        bad.append("not answered by the gateway")
    return bad


def _flow(c, doc, port):
    """Every route of the document, with the data a real day makes, then the failures."""
    out = []

    def send(method, path, body=None, key="social_services", headers=None):
        ex = _send(port, c, method, path, body, key, headers)
        out.append(ex)
        return ex

    # A real day first: people, a business, an activity, the edits and their conflicts.
    p1 = send("POST", "/v1/persons", person(1))
    eq(p1.status, 201, f"{p1.status} {p1.body[:300]}")
    pid = json.loads(p1.body)["id"]
    send("POST", "/v1/persons", person(2, first_name="ز" * 60))   # 60 letters: 120 bytes
    g = send("GET", f"/v1/persons/{pid}")
    etag = g.headers.get("etag")
    send("PATCH", f"/v1/persons/{pid}", {"household_size": 4}, headers={"If-Match": etag})
    send("PATCH", f"/v1/persons/{pid}", {"household_size": 5}, headers={"If-Match": etag})  # 412
    send("POST", "/v1/persons", person(1))                                                 # 409
    send("GET", f"/v1/persons/{pid}", headers={"Accept-Language": "fa"})
    send("GET", "/v1/persons/prs_999999")                                                  # 404
    send("GET", "/v1/persons?limit=1")
    IDS.clear()
    IDS.update({"persons": pid, "offices": "rey-1"})
    ids = IDS

    # A loan through its life (maker and checker), and the reports that count it.
    def made(ex, coll):
        check(ex.status == 201, f"{coll}: {ex.status} {ex.body[:300]}")
        IDS[coll] = json.loads(ex.body)["id"]
        return IDS[coll]
    bus = made(send("POST", "/v1/businesses", {"owner_id": pid, "activity": "خیاطی",
                                               "field": "handicrafts", "stage": "developing"}),
               "businesses")
    prod = made(send("POST", "/v1/loan-products", {
        "name": "اشتغال", "kind": "individual", "cap_rials": 500000000, "fee_rate_bp": 0,
        "term_months": 12, "min_stage": "developing", "fiscal_year": 1405}), "loan-products")
    loan = made(send("POST", "/v1/loans", {"person_id": pid, "business_id": bus, "product_id": prod,
                                           "amount_rials": 100000000}), "loans")
    send("POST", f"/v1/loans/{loan}/appraise", {"appraiser": "x",
                                                "recommended_amount_rials": 100000000})
    tag = send("GET", f"/v1/loans/{loan}").headers.get("etag")
    send("POST", f"/v1/loans/{loan}/approve", {}, key="checker", headers={"If-Match": tag})
    for path, body in ((f"/v1/loans/{loan}/disburse", {"amount_rials": 100000000, "date": TODAY}),
                       (f"/v1/loans/{loan}/repayments", {"amount_rials": 1000000, "date": TODAY,
                                                         "reference": "r-1"})):
        ex = send("POST", path, body)
        check(ex.status in (200, 201), f"{path}: {ex.status} {ex.body[:300]}")
    time.sleep(1.5)   # the reporting projections follow the events
    for q in ("group_by=office", "group_by=neighbourhood", "group_by=network", ""):
        send("GET", f"/v1/reports/indicators?from=2026-01-01&to=2026-12-01&{q}", key="auditor")
    for accept in ("application/json", "text/csv", "text/html", "text/csv;q=0.4, text/html;q=0.8"):
        send("GET", "/v1/reports/half-year?year=1405&half=1", key="auditor",
             headers={"Accept": accept})
    send("GET", "/v1/reports/half-year?year=1405&half=1&office=rey-1", key="auditor")

    # Every other operation with a body the document accepts, writes before reads.
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ops.append((0 if method != "get" and "{" not in path else 1 if method != "get" else 2,
                        path, method, op))
    ops.sort(key=lambda t: t[:3])
    for _, path, method, op in ops:
        if path in ("/metrics",):
            key = "operator"
        else:
            key = _key_for(op)
        coll = path.split("/")[2] if path.startswith("/v1/") and len(path.split("/")) > 2 else ""

        def fill(m):
            name = m.group(1)
            if name == "id":
                return ids.get(coll, "zz_1")
            if name == "person_id":
                return pid
            if name == "code":
                return "rey-1" if coll == "offices" else "not_found"
            if name == "date":
                return "2026-01-01"
            return "1"
        url = re.sub(r"\{([a-z_]+)\}", fill, path)
        query = []
        for prm in op.get("parameters", []):
            prm = _resolve(doc, prm)
            sch = prm.get("schema", {})
            if prm.get("in") == "query" and (prm.get("required") or sch.get("format") == "date"):
                query.append(f"{prm['name']}={urllib.request.quote(str(_value(prm.get('schema', {}), prm['name'])))}")
        if query:
            url += "?" + "&".join(query)
        body = None
        if method in ("post", "patch", "put"):
            rb = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            body = _value(_resolve(doc, rb.get("schema", {})))
        ex = send(method.upper(), url, body, key)
        if ex.status == 201 and coll and "{" not in path:
            try:
                ids.setdefault(coll, json.loads(ex.body)["id"])
            except (ValueError, KeyError, TypeError):
                pass
        if op.get("responses", {}).get("200", {}).get("content", {}).get("text/csv"):
            send("GET", url, key=key, headers={"Accept": "text/csv"})
            send("GET", url, key=key, headers={"Accept": "text/html;q=0.9, text/csv;q=0.5"})

    # Refusals of the front: no key, a wrong role, a service away.
    send("GET", "/v1/persons?limit=1", key="auditor")
    send("POST", "/v1/offices", {"code": "rey-9", "name": "x", "province": "x", "city": "x"},
         key="auditor")                                                                    # 403
    c.kill("reporting")
    send("GET", "/v1/reports/indicators", key="auditor")                                   # 503/504
    return out


def test_prism_validating_proxy_finds_no_violation_over_every_route():
    binp = _bin()
    with Cluster(SIX, env={"HY_GATEWAY_TIMEOUT_MS": "3000"}, clock=TODAY) as c:
        c.keys["checker"] = c.make_key("social_services", key_id="checker")   # approves loans
        time.sleep(1.2)   # the gateway rereads its keys file at most once a second
        doc, spec = _doc(c)
        log_path = os.path.join(c.dir, "prism.log")
        with open(log_path, "w") as log:
            # the last port of the cluster's range, which the harness leaves free
            prism, port = _start_prism(binp, spec, f"http://127.0.0.1:{c.http_port}", c.base + 19,
                                       log)
            try:
                exchanges = _flow(c, doc, port)
            finally:
                prism.terminate()
                prism.wait(timeout=30)
        with open(os.path.join(c.dir, "exchanges.txt"), "w") as f:
            for ex in exchanges:
                f.write(f"{ex.status} {ex.method} {ex.path} {ex.body[:200]!r}\n")
        bad = []
        for ex in exchanges:
            for b in _problems(ex):
                bad.append(f"{ex.method} {ex.path} -> {ex.status}: {b}")
        with open(log_path, encoding="utf-8", errors="replace") as f:
            violations = [l.strip() for l in f if "Violation" in l or "✖" in l]
        families = {ex.status // 100 for ex in exchanges}
        routes = {(m, p) for p, item in doc["paths"].items() for m in item}
        check(not bad and not violations,
              f"{len(bad)} exchanges disagree with the document:\n" + "\n".join(bad[:40]) +
              "\n" + "\n".join(violations[:40]))
        check({2, 4, 5} <= families, f"status families touched: {families}")
        check(len(exchanges) > len(routes), f"{len(exchanges)} exchanges for {len(routes)} routes")
        c.procs["reporting"]._expected_dead = True


def test_redocly_lint_finds_no_error():
    binp = _bin()
    with Cluster(SIX) as c:
        _, spec = _doc(c)
        out = subprocess.run([os.path.join(binp, "redocly"), "lint", spec, "--format=stylish"],
                             capture_output=True, text=True, timeout=300, cwd=c.dir)
        errors = [l for l in (out.stdout + out.stderr).splitlines() if " error " in l]
        check(out.returncode == 0 and not errors,
              f"redocly lint: exit {out.returncode}\n" + "\n".join(errors[:40]) +
              (out.stdout + out.stderr)[-3000:])
