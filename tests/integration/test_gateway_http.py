"""HTTP as integrators' clients expect it (issue #19 items 1, 4, 5): CORS, ETag and If-Match,
Location, Retry-After, gzip, Vary, Accept q-values, problem types and their Persian texts.

Each test drives the real gateway and registry over loopback.
"""
import gzip
import json
import os
import re
import urllib.request

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


# ------------------------------------------------------------------------- 4. HTTP ----------
def test_etag_and_if_match_refuse_a_lost_update():
    with Cluster(["registry"]) as c:
        r = c.post("/v1/persons", person(1))
        eq(r.status, 201, f"{r}")
        pid = r.json["id"]
        eq(r.headers.get("Location"), f"/v1/persons/{pid}", "Location on 201")
        g = c.get(f"/v1/persons/{pid}")
        etag = g.headers.get("ETag")
        check(etag and re.fullmatch(r'"[0-9a-f]{16,64}"', etag), f"strong ETag: {g.headers}")
        eq(c.get(f"/v1/persons/{pid}").headers.get("ETag"), etag, "stable ETag")
        check(c.get("/v1/persons?limit=5").headers.get("ETag"), "lists carry an ETag too")
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
