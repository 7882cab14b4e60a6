"""The loans service end to end: gateway -> broker -> loans (and registry) -> LMDB -> events.

Every test talks HTTP to the real gateway and the real services on loopback. The clock is fixed
with HY_CLOCK so dates (schedules, arrears, fiscal years) are exact; tests that need a past
become the present restart the loans service with a later clock.
"""
import signal
import threading
import time
import uuid

from harness import Cluster, check, eq, person

TODAY = "2024-06-15"   # 1403/03/26


def _borrower(c, n, stage="developing", office=None, key="social_services"):
    """Registers a person and her business through the registry (with key: its office's);
    returns (person, business)."""
    p = person(n, **({"office": office} if office else {}))
    r = c.post("/v1/persons", p, key=key)
    eq(r.status, 201, f"person: {r}")
    b = c.post("/v1/businesses", {"owner_id": r.json["id"], "activity": "carpet weaving",
                                  "field": "handicrafts", "stage": stage}, key=key)
    eq(b.status, 201, f"business: {b}")
    return r.json["id"], b.json["id"]


def _product(c, **over):
    body = {"name": "qard al-hasan", "kind": "individual", "fee_rate_bp": 400, "term_months": 12,
            "fee_method": "flat"}
    body.update(over)
    r = c.post("/v1/loan-products", body)
    eq(r.status, 201, f"product: {r}")
    return r.json["id"]


def _checker(c):
    """A second social-services key: the one that approves (maker-checker: the key that applied
    or appraised may not approve)."""
    if "checker" not in c.keys:
        c.keys["checker"] = c.make_key("social_services", key_id="checker")
        time.sleep(1.2)   # the gateway rereads its keys file at most once a second
    return "checker"


def _approved(c, pid, bid, prod, amount, **approve):
    r = c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                             "amount_rials": amount, "purpose": "looms"})
    eq(r.status, 201, f"apply: {r}")
    lid = r.json["id"]
    r = c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "Sara", "recommended_amount_rials": amount})
    eq(r.status, 200, f"appraise: {r}")
    r = c.post(f"/v1/loans/{lid}/approve", approve, key=_checker(c))
    eq(r.status, 200, f"approve: {r}")
    return lid


def _refused(r, status, code):
    eq(r.status, status, f"{code}: {r}")
    eq(r.json.get("code"), code, f"{r}")
    eq(r.headers.get("Content-Type", "").split(";")[0], "application/problem+json")


def _types(c):
    return [e["type"] for e in c.events_since("loans")]


def test_loan_lifecycle_through_gateway():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        sub = c.subscribe("loans")
        prod = _product(c)
        p = c.get(f"/v1/loan-products/{prod}")
        eq(p.json["cap_rials"], 500000000, "default individual cap:")
        eq(p.json["fiscal_year"], 1403)
        eq(p.json["min_stage"], "developing")
        # registered and applying at once: the loans service must not refuse her
        for i in range(15):
            pid, bid = _borrower(c, 100 + i)
            r = c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                     "amount_rials": 10000000 + i, "purpose": "x"})
            eq(r.status, 201, f"a person the registry acknowledged is known: {r}")
        pid, bid = _borrower(c, 1)
        lid = _approved(c, pid, bid, prod, 120000000, amount_rials=100000000)
        g = c.get(f"/v1/loans/{lid}")
        eq(g.json["approved_rials"], 100000000)
        eq(g.json["fee_rials"], 4000000, "flat fee 4% a year over 12 months:")
        eq(g.json["terms"]["cap_rials"], 500000000)
        r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 30000000, "date": TODAY})
        eq((r.status, r.json["status"]), (200, "disbursing"))
        eq(sum(i["principal_rials"] for i in r.json["schedule"]), 30000000, "the tranche falls due:")
        r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 70000000, "date_jalali": "1403/03/26"})
        eq(r.status, 200, f"{r}")
        eq(r.json["status"], "disbursed")
        sched = r.json["schedule"]
        eq(len(sched), 12)
        eq(sched[0]["due_date"], "2024-07-16")
        eq(sched[0]["due_date_jalali"], "1403/04/26")
        eq(sum(i["principal_rials"] for i in sched), 100000000, "installments sum to principal:")
        eq(sum(i["fee_rials"] for i in sched), 4000000, "and to the fee:")
        eq(sched[-1]["principal_rials"], 100000000 - 11 * (100000000 // 12), "remainder last:")
        r = c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 9000000, "date": TODAY,
                                                   "reference": "bank-1"})
        eq(r.status, 201, f"{r}")
        rep = r.json["repayments"][-1]
        eq(rep["fee_rials"] + rep["principal_rials"], 9000000)
        eq(rep["fee_rials"], 333333 + 333333, "fee before principal, oldest first:")
        _refused(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 1, "date": TODAY,
                                                        "reference": "bank-1"}),
                 409, "duplicate_reference")
        # arrears as of a later date: the second installment is unpaid since 1403/05/26
        a = c.get(f"/v1/loans/{lid}?as_of=2024-09-30")
        eq(a.status, 200, f"{a}")
        eq(a.json["days_past_due"], 45)
        eq(a.json["aging_bucket"], "31-60")
        eq(a.json["schedule"][0]["state"], "paid")
        eq(a.json["schedule"][1]["state"], "overdue")
        eq(c.get(f"/v1/loans/{lid}?as_of_jalali=1403/07/09").json["days_past_due"], 45)
        owed = c.get(f"/v1/loans/{lid}").json["outstanding_rials"]
        eq(owed, 104000000 - 9000000)
        _refused(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": owed + 1, "date": TODAY}),
                 422, "over_outstanding")
        r = c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": owed, "date": TODAY})
        eq(r.status, 201)
        eq(r.json["status"], "closed", "early repayment of everything closes it:")
        types = _types(c)
        for t in ("applied", "appraised", "approved", "disbursed", "repayment_recorded", "closed"):
            check(f"loans.loan.{t}" in types, f"{t} event in {types}")
        got = []
        deadline = time.time() + 5
        while len(got) < len(types) and time.time() < deadline:
            if sub.poll(200):
                got.append(sub.recv_multipart()[0].decode())
        eq(got, types, "every event published on the PUB socket, in order:")
        closed = [e for e in c.events_since("loans") if e["type"] == "loans.loan.closed"][0]
        for k in ("id", "person_id", "product_id", "fiscal_year", "office"):
            check(k in closed["data"], f"{k} in the closed event: {closed['data']}")
        eq(closed["data"]["office"], "rey-1")
        lst = c.get(f"/v1/loans?person_id={pid}")
        eq([i["id"] for i in lst.json["items"]], [lid])
        eq(len(c.get("/v1/loans?status=applied&limit=500").json["items"]), 15)
        oa = c.get("/v1/openapi.json", key=None).json
        check("/v1/loans/{id}/repayments" in oa["paths"], "loan routes in the OpenAPI document")


def test_rules_refused_and_nothing_changed():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c)
        old = c.post("/v1/loan-products", {"name": "old", "kind": "network", "fiscal_year": 1402})
        eq(old.json["cap_rials"], 2500000000, "default network cap:")
        p1, b1 = _borrower(c, 1)
        p2, b2 = _borrower(c, 2, stage="producing")
        p3, b3 = _borrower(c, 3, stage="established")
        lid = _approved(c, p3, b3, prod, 1000000)
        before = _types(c)

        def apply(pid, bid, amount=1000, product=prod, **extra):
            body = {"person_id": pid, "business_id": bid, "product_id": product,
                    "amount_rials": amount}
            body.update(extra)
            return c.post("/v1/loans", body)

        _refused(apply("prs_999", b1), 422, "unknown_person")
        _refused(apply(p1, "bus_999"), 422, "unknown_business")
        _refused(apply(p1, b2), 422, "business_not_owned")
        _refused(apply(p2, b2), 422, "stage_too_early")
        _refused(apply(p1, b1, amount=500000001), 422, "over_cap")
        _refused(apply(p3, b3), 422, "active_loan_exists")
        _refused(apply(p1, b1, product=old.json["id"]), 422, "product_not_current")
        _refused(apply(p1, b1, term_months=13), 422, "over_term")
        _refused(c.post(f"/v1/loans/{lid}/approve", {}), 409, "wrong_state")
        _refused(c.post(f"/v1/loans/{lid}/reject", {"reason": "x"}), 409, "wrong_state")
        _refused(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 1, "date": TODAY}), 409,
                 "wrong_state")
        _refused(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 1000001, "date": TODAY}), 422,
                 "over_approved")
        _refused(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 1, "date": "2024-06-16"}), 422,
                 "future_date")
        _refused(c.post(f"/v1/loans/{lid}/write-off", {"reason": "x"}, key="operator"), 409,
                 "wrong_state")
        _refused(c.post(f"/v1/loans/{lid}/write-off", {"reason": "x"}), 403, "forbidden")
        _refused(c.post("/v1/loans/age", {}), 403, "forbidden")
        _refused(c.get("/v1/loans/loan_999"), 404, "not_found")
        _refused(c.post("/v1/loans", {"person_id": p1}), 400, "missing_field")
        eq(_types(c), before, "no event for any refused request:")
        g = c.get(f"/v1/loans/{lid}")
        eq(g.json["status"], "approved")
        eq(g.json["disbursed_rials"], 0)
        eq(len(c.get("/v1/loans?limit=500").json["items"]), 1, "still exactly one loan:")
        # the stage the registry reports now counts at once
        eq(c.patch(f"/v1/businesses/{b2}", {"stage": "developing"}).status, 200)
        eq(apply(p2, b2).status, 201, "stage raised a moment ago is seen:")


def test_concurrent_disbursements_never_exceed_approved():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c)
        pid, bid = _borrower(c, 1)
        lid = _approved(c, pid, bid, prod, 1000000)
        results = []
        lock = threading.Lock()
        start = threading.Event()

        def disburse():
            start.wait()
            r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 150000, "date": TODAY})
            with lock:
                results.append(r)
        threads = [threading.Thread(target=disburse) for _ in range(20)]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join()
        ok = [r for r in results if r.status == 200]
        eq(len(ok), 6, "six tranches of 150,000 fit in 1,000,000:")
        for r in results:
            if r.status != 200:
                _refused(r, 422, "over_approved")
        g = c.get(f"/v1/loans/{lid}")
        eq(g.json["disbursed_rials"], 900000)
        eq(sum(d["amount_rials"] for d in g.json["disbursements"]), 900000)
        eq(_types(c).count("loans.loan.disbursed"), 6)
        r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 100000, "date": TODAY})
        eq(r.json["status"], "disbursed", "the last 100,000 completes it:")


def test_kill9_loses_no_acknowledged_repayment():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c)
        pid, bid = _borrower(c, 1)
        lid = _approved(c, pid, bid, prod, 400000000)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 400000000, "date": TODAY}).status, 200)
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w):
            n = 0
            while not stop.is_set() and n < 400:
                ref = f"w{w}-{n}"
                n += 1
                try:
                    r = c.post(f"/v1/loans/{lid}/repayments",
                               {"amount_rials": 1000 + w, "date": TODAY, "reference": ref},
                               headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=5)
                except OSError:
                    continue
                if r.status == 201:
                    with lock:
                        acked.append((ref, 1000 + w))
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        c.kill("loans")
        n_at_kill = len(acked)
        c.start_proc("loans")
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join()
        c.wait_ready()
        check(n_at_kill > 20, f"repayments were acknowledged before the kill ({n_at_kill})")
        g = c.get(f"/v1/loans/{lid}")
        eq(g.status, 200)
        recorded = {r["reference"]: r["amount_rials"] for r in g.json["repayments"]}
        missing = [ref for ref, _ in acked if ref not in recorded]
        eq(missing, [], "every acknowledged repayment survives:")
        eq(g.json["repaid_rials"], sum(recorded.values()), "the ledger adds up to the rial:")
        eq(sum(r["fee_rials"] + r["principal_rials"] for r in g.json["repayments"]),
           g.json["repaid_rials"], "allocations add up:")
        evs = c.events_since("loans")
        seqs = [e["seq"] for e in evs]
        eq(seqs, list(range(1, len(seqs) + 1)), "gapless sequence:")
        refs = {e["data"].get("reference") for e in evs if e["type"] == "loans.loan.repayment_recorded"}
        eq(set(recorded) - refs, set(), "every recorded repayment has its event:")
        eq(len(refs), len(recorded), "and no event without its repayment:")


def _restart_loans(c, clock):
    c.kill("loans", signal.SIGTERM)
    c.env["HY_CLOCK"] = clock
    c.start_proc("loans")
    deadline = time.time() + 20
    while c.get("/v1/loans?limit=1").status != 200 and time.time() < deadline:
        time.sleep(0.1)   # until the broker routes to the new worker


def test_par30_portfolio_and_aging():
    """Five loans approved on 2024-01-01 and serviced on past dates, seen on 2024-06-15:
    A 12M (repaid 1M, 97 days past due), B 6M (repaid 2M, 15 days), C 10M (current), D 3M
    (repaid, closed), E 2M (written off). Outstanding 25M, PAR30 11M = 4400 bp."""
    with Cluster(["registry", "loans"], clock="2024-01-01") as c:
        prod = _product(c, fee_rate_bp=0)
        spec = [("rey-1", 12000000), ("rey-1", 6000000), ("rey-2", 10000000), ("rey-2", 3000000),
                ("rey-2", 2000000)]
        # each office's key takes its own borrowers' applications (offices are boundaries); the
        # province key ("*") approves, services and reads across offices
        keys = {o: c.make_key("social_services", office=o) for o in ("rey-1", "rey-2")}
        prov = c.make_key("social_services", office="*", key_id="province")
        time.sleep(1.2)   # the gateway rereads its keys file at most once a second
        loans = []
        for i, (office, amount) in enumerate(spec):
            pid, bid = _borrower(c, 10 + i, office=office, key=keys[office])
            r = c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                     "amount_rials": amount, "term_months": amount // 1000000},
                       key=keys[office])
            eq(r.status, 201, f"{r}")
            lid = r.json["id"]
            eq(r.json["office"], office)
            c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "a", "recommended_amount_rials": amount},
                   key=keys[office])
            eq(c.post(f"/v1/loans/{lid}/approve", {}, key=prov).status, 200)
            loans.append(lid)
        _restart_loans(c, TODAY)
        a, b, cc, d, e = loans

        def money(lid, what, amount, date):
            r = c.post(f"/v1/loans/{lid}/{what}", {"amount_rials": amount, "date": date}, key=prov)
            check(r.status in (200, 201), f"{what} {lid}: {r}")
        money(a, "disburse", 12000000, "2024-01-10")
        money(a, "repayments", 1000000, "2024-02-09")
        money(b, "disburse", 6000000, "2024-03-01")
        money(b, "repayments", 2000000, "2024-04-30")
        money(cc, "disburse", 10000000, "2024-05-20")
        money(d, "disburse", 3000000, "2024-01-01")
        money(d, "repayments", 3000000, "2024-01-20")
        money(e, "disburse", 2000000, "2024-02-01")
        eq(c.post(f"/v1/loans/{e}/write-off", {"reason": "left the city"}, key="operator").status, 200)
        p = c.get("/v1/loans/portfolio", key=prov)
        eq(p.status, 200, f"{p}")
        t = p.json["total"]
        eq(t["disbursed_rials"], 33000000)
        eq(t["outstanding_principal_rials"], 25000000)
        eq(t["par30_rials"], 11000000)
        eq(t["par30_bp"], 4400)
        eq(t["written_off_rials"], 2000000)
        eq(t["due_rials"], 13000000)
        eq(t["repayment_rate_bp"], 6000000 * 10000 // 13000000)
        offices = {g["office"]: g for g in p.json["by_office"]}
        eq(offices["rey-1"]["par30_bp"], 11000000 * 10000 // 15000000)
        eq(offices["rey-2"]["par30_rials"], 0)
        eq(p.json["by_product"][0]["product_id"], prod)
        early = c.get("/v1/loans/portfolio?as_of=2024-04-02", key=prov).json["total"]
        eq((early["outstanding_principal_rials"], early["par30_rials"]), (19000000, 2000000))
        eq(c.get("/v1/loans/portfolio?office=rey-2", key=prov).json["total"]["disbursed_rials"],
           15000000)
        eq(c.get("/v1/loans/portfolio", key=keys["rey-2"]).json["total"]["disbursed_rials"],
           15000000, "an office key's portfolio is its office's:")
        # the daily aging run: overdue events once per bucket entered, idempotent per as_of
        r = c.post("/v1/loans/age", {"as_of": "2024-03-20"}, key="operator")
        eq(r.status, 200, f"{r}")
        eq(r.json["overdue_events"], 1)
        eq(c.post("/v1/loans/age", {"as_of": "2024-03-20"}, key="operator").json["overdue_events"], 0)
        _refused(c.post("/v1/loans/age", {"as_of": "2024-03-01"}, key="operator"), 422,
                 "as_of_before_last_run")
        eq(c.post("/v1/loans/age", {}, key="operator").json["overdue_events"], 2)
        eq(c.post("/v1/loans/age", {}, key="operator").json["overdue_events"], 0)
        over = [ev for ev in c.events_since("loans") if ev["type"] == "loans.loan.overdue"]
        eq([(ev["subject"], ev["data"]["aging_bucket"]) for ev in over],
           [(a, "1-30"), (a, "90+"), (b, "1-30")])
        # rescheduling the overdue loan keeps every rial
        r = c.post(f"/v1/loans/{a}/reschedule", {"term_months": 6, "reason": "ill"}, key="operator")
        eq(r.status, 200, f"{r}")
        eq(r.json["status"], "rescheduled")
        eq(sum(i["principal_rials"] for i in r.json["schedule"]), 12000000)
        eq(r.json["outstanding_principal_rials"], 11000000)
        eq(r.json["days_past_due"], 0)
        _refused(c.post(f"/v1/loans/{a}/reschedule", {"term_months": 6, "reason": "x"},
                        key="operator"), 422, "not_overdue")
        eq(c.get("/v1/loans/portfolio").json["total"]["par30_rials"], 0)
