"""Every micro-fund op called with unknown ids, malformed ids and in the wrong state: the service
answers 4xx (400/404/409/422) with a problem+json code, never 5xx, and stays alive. Under the
ASan build the cluster's clean stop (exit 0, no leak report) is part of the check.

The table below has a valid body for every op the OpenAPI document lists under the microfund
tag; a new op without a row fails the test, so the sweep keeps covering the whole service."""
from harness import Cluster, check, eq, person

CLOCK = "2024-06-15"
RULES = {"share_value_rials": 10000, "max_shares_per_meeting": 5, "loan_multiple": 3,
         "service_charge_bp_month": 150, "guarantors_required": 1, "max_term_months": 6,
         "social_fund_rials": 2000}

BAD_FUNDS = ["fund_999999", "fund_0", "fund_18446744073709551616", "fund_-1", "floan_1", "x",
             "fund_1%00", "%D8%B5%D9%86%D8%AF%D9%88%D9%82"]
BAD_LOANS = ["floan_999999", "floan_0", "floan_99999999999999999999", "fund_1", "x"]


def _bodies(p0, p1):
    """A body that passes argument checks for each (method, path); the ids are filled in."""
    return {
        ("POST", "/v1/funds"): {"name": "x", "neighbourhood": "شهرری", "facilitator_person_id": "prs_999999",
                                "cycle": {"start": "2024-01-01", "end": "2024-12-31"}, "rules": RULES},
        ("POST", "/v1/funds/{id}/members"): {"person_id": p1, "joined": "2024-01-01"},
        ("POST", "/v1/funds/{id}/members/{person_id}/leave"): {"date": "2024-02-01"},
        ("POST", "/v1/funds/{id}/meetings"): {"date": "2024-02-01", "attendance": [p0],
                                              "savings": [{"person_id": p0, "shares": 1}]},
        ("POST", "/v1/funds/{id}/loans"): {"person_id": p0, "amount_rials": 1000, "term_months": 1,
                                           "guarantor_ids": [p1], "date": "2024-02-01"},
        ("POST", "/v1/fund-loans/{id}/repayments"): {"amount_rials": 1, "date": "2024-03-01"},
        ("POST", "/v1/funds/{id}/shareout"): {"date": "2024-06-01"},
        ("POST", "/v1/funds/{id}/cycles"): {"start": "2024-06-02", "end": "2025-05-31"},
        ("POST", "/v1/funds/{id}/trainings"): {"date": "2024-02-01", "participants": [p0]},
        ("POST", "/v1/funds/{id}/meetings/{date}/void"): {"reason": "entered twice"},
        ("POST", "/v1/funds/{id}/meetings/{date}/void/approve"): {},
        ("POST", "/v1/funds/{id}/meetings/{date}/void/reject"): {"reason": "it happened"},
        ("POST", "/v1/fund-loans/{id}/repayments/{number}/void"): {"reason": "entered twice"},
        ("POST", "/v1/fund-loans/{id}/repayments/{number}/void/approve"): {},
        ("POST", "/v1/fund-loans/{id}/repayments/{number}/void/reject"): {"reason": "it happened"},
        ("POST", "/v1/funds/{id}/trainings/{number}/void"): {"reason": "entered twice"},
    }


def _microfund_ops(c):
    doc = c.get("/v1/openapi.json", key=None).json
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "microfund" in op.get("tags", []):
                ops.append((method.upper(), path))
    return ops


def _fill(path, fid, lid, pid, meeting="1", training="1"):
    return (path.replace("{person_id}", pid).replace("{number}", training)
            .replace("{date}", "2024-02-01").replace("{meeting}", meeting)
            .replace("{id}", lid if path.startswith("/v1/fund-loans/") else fid))


def _no_5xx(r, what):
    check(r.status < 500, f"{what}: a server error {r}")
    if r.status >= 400:
        check(r.json and isinstance(r.json.get("code"), str), f"{what}: no problem code {r}")


def test_every_op_with_unknown_ids_and_wrong_states():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        p = [c.post("/v1/persons", person(700 + i)).json["id"] for i in range(3)]
        ops = _microfund_ops(c)
        check(len(ops) >= 13, f"the micro-fund ops are in the OpenAPI document: {ops}")
        bodies = _bodies(p[0], p[1])
        for method, path in ops:
            if method == "POST":
                check((method, path) in bodies, f"the fuzz table covers {method} {path}")

        # 1. Unknown and malformed ids: 404 (or 4xx when the id cannot even be a path).
        for method, path in ops:
            if "{" not in path:
                continue
            for fid, lid in zip(BAD_FUNDS, BAD_LOANS + BAD_LOANS):
                for pid in (p[0], "prs_999999", "x"):
                    url = _fill(path, fid, lid, pid)
                    r = c.request(method, url, bodies.get((method, path)))
                    _no_5xx(r, f"{method} {url}")
                    check(r.status in (400, 404, 405, 422), f"{method} {url}: {r}")
                    if fid == "fund_999999" and lid == "floan_999999" and pid == p[0]:
                        eq(r.status, 404, f"{method} {url}:")
        eq(c.get("/v1/fund-loans?fund_id=fund_999999").status, 404)

        # 2. Wrong states on a real fund: a closed loan, a shared-out cycle, a member who left.
        r = c.post("/v1/funds", {"name": "صندوق", "neighbourhood": "شهرری", "facilitator_person_id": p[0],
                                  "cycle": {"start": "2024-01-01", "end": "2024-12-31"}, "rules": RULES})
        eq(r.status, 201, f"{r}")
        fid = r.json["id"]
        for q in p:
            eq(c.post(f"/v1/funds/{fid}/members", {"person_id": q, "joined": "2024-01-01"}).status, 201)
        eq(c.post(f"/v1/funds/{fid}/meetings", {"date": "2024-01-10", "attendance": p,
                                                "savings": [{"person_id": q, "shares": 5} for q in p]}).status, 201)
        loan = c.post(f"/v1/funds/{fid}/loans", {"person_id": p[0], "amount_rials": 10000, "term_months": 1,
                                                 "guarantor_ids": [p[1]], "date": "2024-01-10"})
        eq(loan.status, 201, f"{loan}")
        lid = loan.json["id"]
        eq(c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": 10150, "date": "2024-01-20"}).status, 201)
        r = c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": 1, "date": "2024-01-21"})
        eq(r.status, 409, f"a repaid loan: {r}")
        eq(c.post(f"/v1/funds/{fid}/members/{p[2]}/leave", {"date": "2024-01-20"}).status, 200)
        r = c.post(f"/v1/funds/{fid}/members/{p[2]}/leave", {"date": "2024-01-21"})
        eq(r.status, 409, f"left twice: {r}")
        r = c.post(f"/v1/funds/{fid}/members/prs_999999/leave", {"date": "2024-01-21"})
        eq(r.status, 404, f"never a member: {r}")
        eq(c.post(f"/v1/funds/{fid}/cycles", {"start": "2025-01-01", "end": "2025-06-01"}).status, 422)
        # A loan left open into the share-out, then every op once more on the closed cycle.
        eq(c.post(f"/v1/funds/{fid}/loans", {"person_id": p[1], "amount_rials": 5000, "term_months": 1,
                                             "guarantor_ids": [p[0]], "date": "2024-02-01"}).status, 201)
        eq(c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-06-01"}).status, 200)
        for method, path in ops:
            if path == "/v1/funds/{id}/cycles":
                continue   # that one is right after a share-out: it is called last
            url = _fill(path, fid, lid, p[0])
            r = c.request(method, url, bodies.get((method, path)))
            _no_5xx(r, f"after the share-out: {method} {url}")
            if path.endswith(("/meetings", "/loans", "/repayments", "/shareout")) and method == "POST":
                check(r.status in (409, 422), f"after the share-out: {method} {url}: {r}")
        r = c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-06-02"})
        eq((r.status, r.json["code"]), (422, "cycle_closed"))
        # Wrong-typed and absurd bodies on every op reach no handler with garbage.
        for method, path in ops:
            if method != "POST":
                continue
            url = _fill(path, fid, lid, p[0])
            for body in ({}, {"date": "2024-13-45"}, {"amount_rials": -1}, {"person_id": 7},
                         {"attendance": "x", "date": "2024-01-01"}, [], "x"):
                r = c.request(method, url, body)
                _no_5xx(r, f"{method} {url} {body!r}")
                check(400 <= r.status < 500, f"{method} {url} {body!r}: {r}")

        # Lists with every cursor and limit a client could craft.
        for method, path in ops:
            if method != "GET" or "{" not in path:
                continue
            url = _fill(path, fid, lid, p[0])
            for q in ("cursor=c0", "cursor=c1", "cursor=c7fffffffffffffff", "cursor=cffffffffffffffff",
                      "cursor=x", "cursor=c", "limit=0", "limit=1", "limit=100000", "limit=-1"):
                r = c.get(f"{url}?{q}")
                _no_5xx(r, f"GET {url}?{q}")
        for q in ("cursor=c7fffffffffffffff", "cursor=cffffffffffffffff"):
            r = c.get(f"/v1/funds/{fid}/meetings?{q}")
            eq((r.status, r.json["items"]), (200, []), f"a cursor past every meeting: {r}")

        # 3. The service is alive and serves reads and writes after all of it.
        eq(c.get(f"/v1/funds/{fid}").status, 200)
        eq(c.get(f"/v1/fund-loans/{lid}").status, 200)
        eq(c.post(f"/v1/funds/{fid}/cycles", {"start": "2024-06-02", "end": "2025-05-31"}).status, 201)
