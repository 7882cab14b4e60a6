"""HTTP as integrators' clients expect it (issue #19 items 1, 4, 5): CORS, ETag and If-Match,
Location, Retry-After, gzip, Vary, Accept q-values, problem types and their Persian texts.

Each test drives the real gateway and registry over loopback.
"""
import gzip
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from harness import ROOT, Cluster, check, eq, person

ORIGIN = "https://app.example.org"


def _opts(c, path, origin=ORIGIN, method="PATCH", headers="authorization, content-type, if-match"):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return c.request("OPTIONS", path, key=None, headers=h)


# ------------------------------------------------------------------------- 1. CORS ----------
def test_cors_preflight_and_actual_requests_for_a_listed_origin():
    with Cluster(["registry"], env={"HY_CORS_ORIGINS": ORIGIN + ", https://other.example"}) as c:
        r = _opts(c, "/v1/persons/prs_1")
        eq(r.status, 204, f"preflight {r}")
        h = {k.lower(): v for k, v in r.headers.items()}
        eq(h.get("access-control-allow-origin"), ORIGIN, "allowed origin echoed")
        methods = {m.strip() for m in h.get("access-control-allow-methods", "").split(",")}
        check({"GET", "PATCH"} <= methods, f"methods of the path: {methods}")
        allowed = h.get("access-control-allow-headers", "").lower()
        for name in ("authorization", "content-type", "if-match", "idempotency-key"):
            check(name in allowed, f"{name} allowed: {allowed}")
        check("origin" in h.get("vary", "").lower(), f"Vary: Origin {h}")
        check(int(h.get("access-control-max-age", "0")) > 0, "preflight cached")
        # The actual request (no preflight needed by us: a browser sends Origin).
        r = c.get("/v1/persons?limit=1", headers={"Origin": ORIGIN})
        eq(r.status, 200)
        h = {k.lower(): v for k, v in r.headers.items()}
        eq(h.get("access-control-allow-origin"), ORIGIN)
        check("etag" in h.get("access-control-expose-headers", "").lower(), f"exposed: {h}")
        # A refusal carries the CORS headers too, so the page can read the problem.
        r = c.get("/v1/persons?limit=1", key=None, headers={"Origin": ORIGIN})
        eq(r.status, 401)
        eq(r.headers.get("Access-Control-Allow-Origin"), ORIGIN)
        # Another origin gets nothing to use.
        r = _opts(c, "/v1/persons/prs_1", origin="https://evil.example")
        check(r.status in (204, 403), f"{r}")
        check("Access-Control-Allow-Origin" not in r.headers, f"evil origin allowed: {r.headers}")
        r = c.get("/v1/persons?limit=1", headers={"Origin": "https://evil.example"})
        check("Access-Control-Allow-Origin" not in r.headers, "no CORS for an unlisted origin")
        # An unknown path is a 404, even in a preflight.
        eq(_opts(c, "/v1/nothing-here").status, 404)


def test_cors_is_off_by_default_and_a_wildcard_never_allows_credentials():
    with Cluster(["registry"]) as c:
        r = _opts(c, "/v1/persons/prs_1")
        check("Access-Control-Allow-Origin" not in r.headers, f"CORS off by default: {r.headers}")
        r = c.get("/v1/persons?limit=1", headers={"Origin": ORIGIN})
        check("Access-Control-Allow-Origin" not in r.headers, "CORS off by default")
    with Cluster(["registry"], env={"HY_CORS_ORIGINS": "*"}) as c:
        r = _opts(c, "/v1/persons")
        eq(r.status, 204)
        eq(r.headers.get("Access-Control-Allow-Origin"), "*")
        check("Access-Control-Allow-Credentials" not in r.headers, "credentials never wildcarded")
        r = c.get("/v1/persons?limit=1", headers={"Origin": ORIGIN})
        eq(r.headers.get("Access-Control-Allow-Origin"), "*")
        check("Access-Control-Allow-Credentials" not in r.headers, "credentials never wildcarded")


_CORS_PAGE = """<!doctype html><html><body><pre id="out">none</pre><script>
var out = [];
function call(method, path, body, etag) {
  var x = new XMLHttpRequest();
  try {
    x.open(method, "GATEWAY" + path, false);   // synchronous: done before the DOM is dumped
    x.setRequestHeader("Authorization", "Bearer KEY");
    if (body) x.setRequestHeader("Content-Type", "application/json");
    if (etag) x.setRequestHeader("If-Match", etag);
    x.send(body ? JSON.stringify(body) : null);
    out.push(method + " " + x.status + " etag=" + (x.getResponseHeader("ETag") || "-"));
    return x;
  } catch (e) {
    out.push(method + " blocked");
    return null;
  }
}
var g = call("GET", "/v1/persons/PID");
if (g) {
  var tag = g.getResponseHeader("ETag");
  call("PATCH", "/v1/persons/PID", {household_size: 6}, tag);
  call("PATCH", "/v1/persons/PID", {household_size: 7}, tag);
}
document.getElementById("out").textContent = out.join("|");
</script></body></html>"""


def _serve():
    """A loopback HTTP server of its own (another origin than the gateway's) that serves
    srv.page at every path."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = self.server.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.page = ""
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _chromium_dom(url):
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(n)), None)
    check(browser, "headless Chromium is not installed (tools/install-deps.sh: chromium)")
    tmp = tempfile.mkdtemp(prefix="hamyar-cors-")
    try:
        return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                               "--no-first-run", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync",
                               f"--user-data-dir={tmp}", "--virtual-time-budget=5000",
                               "--dump-dom", url], capture_output=True, text=True,
                              timeout=120).stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_page_on_another_origin_calls_the_api_in_chromium():
    """A page served from another origin reads a person, edits her with the ETag it got, and
    is refused the stale second edit: the browser's own CORS checks (preflights for the
    Authorization and If-Match headers, the exposed ETag) let it. An origin not listed is
    blocked by the browser."""
    allowed, other = _serve(), _serve()
    origin = f"http://127.0.0.1:{allowed.server_address[1]}"
    try:
        with Cluster(["registry"], env={"HY_CORS_ORIGINS": origin}) as c:
            pid = c.post("/v1/persons", person(1)).json["id"]
            page = (_CORS_PAGE.replace("GATEWAY", f"http://127.0.0.1:{c.http_port}")
                    .replace("KEY", c.keys["social_services"]).replace("PID", pid))
            allowed.page = other.page = page
            dom = _chromium_dom(origin + "/")
            out = re.search(r'<pre id="out">([^<]*)</pre>', dom)
            check(out, f"no result in the page: {dom[-500:]}")
            steps = out.group(1).split("|")
            eq(len(steps), 3, f"{steps}")
            check(steps[0].startswith("GET 200 etag=\""), f"the page read the ETag: {steps}")
            check(steps[1].startswith("PATCH 200 etag=\""), f"the edit went through: {steps}")
            eq(steps[2], "PATCH 412 etag=-", "the stale edit is refused, and the page reads why")
            eq(c.get(f"/v1/persons/{pid}").json["household_size"], 6)
            dom = _chromium_dom(f"http://127.0.0.1:{other.server_address[1]}/")
            eq(re.search(r'<pre id="out">([^<]*)</pre>', dom).group(1), "GET blocked",
               "an origin not listed is blocked by the browser")
    finally:
        for srv in (allowed, other):
            srv.shutdown()
            srv.server_close()


# ------------------------------------------------------------------------- 4. HTTP ----------
def test_etag_and_if_match_refuse_a_lost_update():
    with Cluster(["registry"]) as c:
        r = c.post("/v1/persons", person(1))
        eq(r.status, 201, f"{r}")
        pid = r.json["id"]
        eq(r.headers.get("Location"), f"/v1/persons/{pid}", "Location on 201")
        o = c.post("/v1/offices", {"code": "rey-7", "name": "x", "province": "x", "city": "x"},
                   key="operator")
        eq((o.status, o.headers.get("Location")), (201, "/v1/offices/rey-7"), "by its code")
        g = c.get(f"/v1/persons/{pid}")
        etag = g.headers.get("ETag")
        check(etag and re.fullmatch(r'"[0-9a-f]{16,64}"', etag), f"strong ETag: {g.headers}")
        eq(c.get(f"/v1/persons/{pid}").headers.get("ETag"), etag, "stable ETag")
        check(c.get("/v1/persons?limit=5").headers.get("ETag"), "lists carry an ETag too")
        doc = c.get("/v1/openapi.json", key=None).headers.get("ETag")
        check(doc and doc == c.get("/v1/openapi.json", key=None).headers.get("ETag"),
              "the gateway's own documents too")
        # Office A edits with the ETag it read: accepted, and the ETag moves.
        a = c.patch(f"/v1/persons/{pid}", {"household_size": 4}, headers={"If-Match": etag})
        eq(a.status, 200, f"{a}")
        new = c.get(f"/v1/persons/{pid}").headers.get("ETag")
        check(new and new != etag, "a change moves the ETag")
        eq(a.headers.get("ETag"), new, "the write's answer carries the resource's new ETag")
        # Office B edits with the stale one: refused, nothing written.
        b = c.patch(f"/v1/persons/{pid}", {"household_size": 7}, headers={"If-Match": etag})
        eq(b.status, 412, f"{b}")
        eq(b.json["code"], "precondition_failed")
        eq(c.get(f"/v1/persons/{pid}").json["household_size"], 4, "the lost update did not happen")
        # A state change is guarded the same way; a list and * are understood.
        s = c.post(f"/v1/persons/{pid}/status", {"status": "exited", "reason": "moved"},
                   headers={"If-Match": etag})
        eq(s.status, 412, f"{s}")
        s = c.post(f"/v1/persons/{pid}/status", {"status": "exited", "reason": "moved"},
                   headers={"If-Match": f'"0000", {new}'})
        eq(s.status, 200, f"{s}")
        eq(c.patch(f"/v1/persons/{pid}", {"household_size": 5}, headers={"If-Match": "*"}).status, 200)
        eq(c.patch("/v1/persons/prs_999999", {"household_size": 5},
                   headers={"If-Match": "*"}).status, 412, "If-Match on nothing")
        # Without If-Match, writes go on as before.
        eq(c.patch(f"/v1/persons/{pid}", {"household_size": 6}).status, 200)


def test_if_none_match_answers_304_while_the_copy_is_current():
    """A client that keeps a copy revalidates it: 304 without a body while the tag matches
    (weakly, or in a list, or *), 200 with the new body once the resource changed."""
    with Cluster(["registry"]) as c:
        pid = c.post("/v1/persons", person(1)).json["id"]
        g = c.get(f"/v1/persons/{pid}")
        etag = g.headers.get("ETag")
        for field in (etag, "W/" + etag, f'"00ff", {etag}', "*"):
            r = c.get(f"/v1/persons/{pid}", headers={"If-None-Match": field})
            eq((r.status, r.raw, r.headers.get("ETag")), (304, b"", etag), f"If-None-Match {field}:")
        eq(c.get(f"/v1/persons/{pid}", headers={"If-None-Match": '"00ff"'}).status, 200,
           "another tag: the body")
        eq(c.patch(f"/v1/persons/{pid}", {"household_size": 4}).status, 200)
        r = c.get(f"/v1/persons/{pid}", headers={"If-None-Match": etag})
        eq(r.status, 200, "changed since: the new body")
        check(r.headers.get("ETag") != etag and r.json["household_size"] == 4, f"{r.headers}")
        doc = c.get("/v1/openapi.json", key=None)
        eq(c.get("/v1/openapi.json", key=None, headers={"If-None-Match": doc.headers["ETag"]}).status,
           304, "the gateway's own documents too")


def test_concurrent_writes_with_one_etag_exactly_one_wins():
    """Two offices send their edit with the same ETag at the same moment, again and again: the
    writer checks each in its own transaction, so exactly one of every pair is applied."""
    with Cluster(["registry"]) as c:
        pid = c.post("/v1/persons", person(1)).json["id"]
        for round_ in range(8):
            etag = c.get(f"/v1/persons/{pid}").headers["ETag"]
            results = [None, None]
            start = threading.Barrier(2)

            def edit(i):
                start.wait()
                results[i] = c.patch(f"/v1/persons/{pid}", {"household_size": 10 + 2 * round_ + i},
                                     headers={"If-Match": etag}).status
            threads = [threading.Thread(target=edit, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            eq(sorted(results), [200, 412], f"round {round_}")


def test_text_limits_count_characters_not_bytes():
    """first_name is at most 100 characters: 100 Persian letters (200 bytes) are taken, 101 are
    not, and the document says 100 in JSON Schema's own unit."""
    with Cluster(["registry"]) as c:
        r = c.post("/v1/persons", person(1, first_name="ز" * 100))
        eq(r.status, 201, f"{r}")
        r = c.post("/v1/persons", person(2, first_name="ز" * 101))
        eq((r.status, r.json["field"]), (400, "first_name"), f"{r}")
        check("characters" in r.json["detail"], f"{r.json}")
        doc = c.get("/v1/openapi.json", key=None).json
        schema = doc["paths"]["/v1/persons"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        eq(schema["properties"]["first_name"]["maxLength"], 100)
        check(schema["properties"]["first_name"]["x-max-bytes"] >= 200, "the byte ceiling")


def test_retry_after_on_503_and_vary():
    with Cluster(["registry"], env={"HY_SERVICES": "registry,loans"}) as c:
        r = c.get("/readyz", key=None)
        eq(r.status, 503)
        check(r.headers.get("Retry-After", "").isdigit(), f"Retry-After: {r.headers}")
        r = c.get("/v1/persons?limit=1")
        vary = {v.strip().lower() for v in r.headers.get("Vary", "").split(",")}
        check({"accept", "accept-encoding"} <= vary, f"Vary: {r.headers}")


def test_gzip_when_asked_for_a_big_body():
    with Cluster(["registry"]) as c:
        plain = c.get("/v1/openapi.json", key=None)
        check(len(plain.raw) > 8192, "the document is big")
        check("Content-Encoding" not in plain.headers, "identity unless asked")
        z = c.get("/v1/openapi.json", key=None, headers={"Accept-Encoding": "br;q=1, gzip;q=0.8"})
        eq(z.headers.get("Content-Encoding"), "gzip", f"{z.headers}")
        eq(gzip.decompress(z.raw), plain.raw, "same document")
        check(len(z.raw) < len(plain.raw) // 3, "compressed")
        n = c.get("/v1/openapi.json", key=None, headers={"Accept-Encoding": "gzip;q=0"})
        check("Content-Encoding" not in n.headers, "q=0 refuses gzip")
        small = c.get("/healthz", key=None, headers={"Accept-Encoding": "gzip"})
        check("Content-Encoding" not in small.headers, "a small body is sent as it is")


# ------------------------------------------------------------------------- 5. problems ------
def test_problem_types_resolve_to_a_page_and_titles_are_standard():
    with Cluster(["registry"]) as c:
        r = c.get("/v1/persons/prs_424242")
        eq(r.status, 404)
        eq(r.json["type"], "/v1/problems/not_found")
        eq(r.json["title"], "Not found")
        page = c.get(r.json["type"], key=None, headers={"Accept": "text/html"})
        eq(page.status, 200, f"{page}")
        check(page.headers.get("Content-Type", "").startswith("text/html"), f"{page.headers}")
        check(b"not_found" in page.raw and b"404" in page.raw, "the page explains the code")
        bad = c.post("/v1/persons", person(2, national_id="0000000001"))
        eq(bad.json["type"], "/v1/problems/" + bad.json["code"])
        # The title is the type's, not the occurrence's; the detail is the occurrence's.
        eq(bad.json["title"], c.get(bad.json["type"], key=None).json["title"])
        eq(c.get("/v1/problems/no_such_code", key=None).status, 404)


def test_persian_problems_with_accept_language_fa():
    with Cluster(["registry"]) as c:
        r = c.get("/v1/persons/prs_424242", headers={"Accept-Language": "fa-IR, en;q=0.5"})
        eq(r.status, 404)
        eq(r.headers.get("Content-Language"), "fa")
        check(re.search("[\u0600-\u06ff]", r.json["title"]), f"Persian title: {r.json}")
        check(re.search("[\u0600-\u06ff]", r.json["detail"]), f"Persian detail: {r.json}")
        eq(r.json["code"], "not_found", "the code stays")
        e = c.get("/v1/persons/prs_424242", headers={"Accept-Language": "en, fa;q=0.5"})
        eq(e.headers.get("Content-Language"), "en")
        check(not re.search("[\u0600-\u06ff]", e.json["title"]), "English preferred")
        # A gateway refusal and a skeleton refusal are translated as well.
        r = c.get("/v1/persons?limit=0", headers={"Accept-Language": "fa"})
        eq(r.status, 400)
        check(re.search("[\u0600-\u06ff]", r.json["detail"]), f"{r.json}")
        r = c.post("/v1/persons", {"first_name": "x"}, headers={"Accept-Language": "fa"})
        eq(r.status, 400)
        check(re.search("[\u0600-\u06ff]", r.json["title"]), f"{r.json}")


def _declared_codes():
    """Every problem code the C sources can produce: a string literal right after a status in
    a refusal call (hy_fail(ctx, 404, "not_found", ...), hy_gw_fail(err, 400, "...", ...),
    s_error_reply(id, 409, "...", ...)), plus the codes of the services' error tables."""
    codes = set()
    call = re.compile(r'(?<!"maximum", )\b[1-5][0-9][0-9]\s*,\s*"([a-z][a-z0-9_]+)"')
    for top in ("services", "shared", "gateway"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith(".c"):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        codes.update(call.findall(fh.read()))
    return codes


def test_every_declared_code_has_a_persian_title_and_a_page():
    codes = _declared_codes()
    check(len(codes) > 100, f"found the codes: {len(codes)}")
    with Cluster(["registry"]) as c:
        r = c.get("/v1/problems", key=None)
        eq(r.status, 200, f"{r}")
        known = {p["code"]: p for p in r.json["items"]}
        missing = sorted(codes - set(known))
        eq(missing, [], "codes without a page")
        for code in sorted(codes):
            p = known[code]
            check(re.search("[\u0600-\u06ff]", p["title_fa"]), f"{code}: Persian title")
            check(re.search("[\u0600-\u06ff]", p["detail_fa"]), f"{code}: Persian detail")
            check(p["title"] and p["type"] == "/v1/problems/" + code, f"{code}: {p}")
        one = c.get("/v1/problems/precondition_failed", key=None, headers={"Accept-Language": "fa"})
        eq(one.status, 200)
        eq(one.headers.get("Content-Language"), "fa")


# ------------------------------------------------------------------------- GET /v1/me -------
def test_me_says_who_the_key_is_and_never_the_secret():
    """The office console asks who its key is: id, role, office; no secret, no hash. Without a
    key, 401; the scraper's key (monitoring: /metrics and nothing else) gets 403. The route is
    in the OpenAPI document."""
    with Cluster(["registry"]) as c:
        token = c.make_key("auditor", office="rey-2", key_id="desk-7")
        scraper = c.make_key("monitoring", office=None)
        for _ in range(50):   # the gateway rereads the keys file within a second
            r = c.get("/v1/me", key=token)
            if r.status != 401:
                break
            time.sleep(0.1)
        eq(r.status, 200, f"{r}")
        eq(r.json, {"key_id": "desk-7", "role": "auditor", "office": "rey-2"})
        secret = token.split("_", 2)[2]
        check(secret not in r.raw.decode(), "the secret is never sent back")
        eq(r.headers.get("Cache-Control"), "no-store")
        r = c.get("/v1/me", key="operator")
        eq(r.status, 200)
        eq(r.json["role"], "operator")
        eq(c.get("/v1/me", key=None).status, 401)
        eq(c.get("/v1/me", key=scraper).status, 403)
        doc = c.get("/v1/openapi.json", key=None).json
        op = doc["paths"]["/v1/me"]["get"]
        eq(op["operationId"], "me")
        check(set(op["responses"]["200"]["content"]["application/json"]["schema"]["properties"])
              == {"key_id", "role", "office"}, f"schema: {op['responses']['200']}")
