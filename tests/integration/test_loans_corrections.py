"""Issue 15 for loans: offices as boundaries, voids of money under maker-checker, dates as they
happened, and loans following a merge of two person records; issue 13 item 2: no waiting on the
registry from inside a transaction (a request naming a person not seen yet parks)."""
import signal
import threading
import time

from harness import Cluster, check, eq, person
from test_loans import TODAY, _borrower, _checker, _product, _refused


def _ok(r, what, status=200):
    eq(r.status, status, f"{what}: {r}")
    return r.json


def _paper_loan(c, n, prod, amount, key="social_services", disbursed="2024-01-10"):
    pid, bid = _borrower(c, n)
    lid = _ok(c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                   "amount_rials": amount, "applied_on": "2024-01-05"}, key=key),
              "apply", 201)["id"]
    _ok(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S", "date": "2024-01-06",
                                             "recommended_amount_rials": amount}, key=key), "appraise")
    _ok(c.post(f"/v1/loans/{lid}/approve", {"date": "2024-01-07"}, key=_checker(c)), "approve")
    if disbursed:
        _ok(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": amount, "date": disbursed},
                   key=key), "disburse")
    return pid, lid


def test_loans_office_boundaries():
    """A key of office rey-2 neither reads nor changes rey-1's loans, nor applies for a rey-1
    person; lists and the portfolio of an office key are its office's; a province key sees all."""
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        b = c.make_key("social_services", office="rey-2", key_id="office-b")
        prov = c.make_key("social_services", office="*", key_id="province")
        time.sleep(1.2)
        prod = _product(c, fiscal_year=1402)
        pid, lid = _paper_loan(c, 1, prod, 12000000)
        _refused(c.get(f"/v1/loans/{lid}", key=b), 403, "other_office")
        for path, body in ((f"/v1/loans/{lid}/repayments", {"amount_rials": 1000, "date": TODAY}),
                           (f"/v1/loans/{lid}/disburse", {"amount_rials": 1, "date": TODAY}),
                           (f"/v1/loans/{lid}/withdraw", {"reason": "x"})):
            _refused(c.post(path, body, key=b), 403, "other_office")
        a = _ok(c.get(f"/v1/loans/{lid}"), "A reads")
        eq((a["status"], a.get("repayments", []), a.get("repaid_rials", 0)), ("disbursed", [], 0),
           "nothing changed:")
        pid2, bid2 = _borrower(c, 2)
        _refused(c.post("/v1/loans", {"person_id": pid2, "business_id": bid2, "product_id": prod,
                                      "amount_rials": 1000000, "applied_on": "2024-01-05"}, key=b),
                 403, "other_office")
        eq(_ok(c.get("/v1/loans", key=b), "B's list")["items"], [], "B's list holds no A loan:")
        _refused(c.get("/v1/loans?office=rey-1", key=b), 403, "other_office")
        eq(_ok(c.get("/v1/loans/portfolio", key=b), "B's portfolio")["total"]["loans"], 0)
        eq([x["id"] for x in _ok(c.get("/v1/loans?office=rey-1", key=prov), "province")["items"]],
           [lid])
        eq(_ok(c.get(f"/v1/loans/{lid}", key=prov), "province reads")["id"], lid)
        # a province key applies for a person of rey-1: the loan is her office's, not "*"
        r = _ok(c.post("/v1/loans", {"person_id": pid2, "business_id": bid2, "product_id": prod,
                                     "amount_rials": 1000000, "applied_on": "2024-01-05"},
                       key=prov), "province applies", 201)
        eq(r["office"], "rey-1")


def test_repayment_void_needs_a_second_key_and_rederives_later_ones():
    """Fineract's undo under maker-checker: one key asks to void a repayment, another approves;
    the voided repayment stays readable, counts nowhere, and later ones are re-allocated exactly
    as if it had never been recorded."""
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        checker = _checker(c)
        prod = _product(c, fiscal_year=1402)
        _, lid = _paper_loan(c, 1, prod, 12000000)
        _, ctl = _paper_loan(c, 2, prod, 12000000)   # the same loan without the mistaken receipt
        reps = (("a", 100000, "2024-02-10"), ("b", 500000, "2024-03-01"), ("c", 500000, "2024-04-01"))
        for ref, amount, date in reps:
            r = _ok(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": amount, "date": date,
                                                           "reference": ref}), "repay", 201)
            if ref != "b":
                _ok(c.post(f"/v1/loans/{ctl}/repayments", {"amount_rials": amount, "date": date,
                                                           "reference": ref}), "repay", 201)
        numbers = {x["reference"]: x["number"] for x in r["repayments"]}
        eq(sorted(numbers.values()), [1, 2, 3], "each repayment has its number:")
        nb = numbers["b"]
        _refused(c.post(f"/v1/loans/{lid}/repayments/{nb}/void/approve", {}, key=checker), 409,
                 "no_void_request")
        r = _ok(c.post(f"/v1/loans/{lid}/repayments/{nb}/void", {"reason": "wrong loan"}),
                "void requested", 202)
        eq(r["repaid_rials"], 1100000, "a requested void changes nothing yet:")
        req = [x for x in r["repayments"] if x["number"] == nb][0]["void_request"]
        eq(req["reason"], "wrong loan")
        _refused(c.post(f"/v1/loans/{lid}/repayments/{nb}/void", {"reason": "again"}), 409,
                 "void_pending")
        _refused(c.post(f"/v1/loans/{lid}/repayments/{nb}/void/approve", {}), 422, "same_approver")
        _refused(c.post(f"/v1/loans/{lid}/repayments/99/void", {"reason": "x"}), 404, "not_found")
        r = _ok(c.post(f"/v1/loans/{lid}/repayments/{nb}/void/approve", {}, key=checker), "approve")
        control = c.get(f"/v1/loans/{ctl}").json
        eq([(x["reference"], x["fee_rials"], x["principal_rials"]) for x in r["repayments"]],
           [(x["reference"], x["fee_rials"], x["principal_rials"]) for x in control["repayments"]],
           "later allocations re-derived as if it never happened:")
        eq(r["repaid_rials"], 600000)
        for k in ("paid_rials", "outstanding_principal_rials", "outstanding_fee_rials", "overdue_rials"):
            eq(r[k], control[k], k)
        v = r["voided_repayments"]
        eq([(x["reference"], x["voided"], x["void_reason"], x["number"]) for x in v],
           [("b", True, "wrong loan", nb)], "the voided repayment stays readable:")
        check(v[0]["voided_by"] and v[0]["voided_by"] != v[0]["void_request"]["requested_by"], f"{v}")
        _refused(c.post(f"/v1/loans/{lid}/repayments/{nb}/void", {"reason": "x"}), 409, "voided")
        ev = [e for e in c.events_since("loans") if e["type"] == "loans.loan.repayment_voided"]
        eq(len(ev), 1)
        eq((ev[0]["data"]["before"]["reference"], ev[0]["data"]["reason"]), ("b", "wrong loan"))
        eq([x["reference"] for x in ev[0]["data"]["reallocated"]], ["c"])
        check(any(e["type"] == "loans.loan.repayment_void_requested" for e in c.events_since("loans")))
        # a voided reference may be booked again (the right amount this time)
        _ok(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 50000, "date": "2024-04-02",
                                                   "reference": "b"}), "re-entered", 201)
        # the portfolio counts it nowhere: 100,000 + 500,000 + 50,000 on this loan, 600,000 on ctl
        eq(c.get("/v1/loans/portfolio").json["total"]["repaid_rials"], 650000 + 600000)


def test_void_of_the_closing_repayment_reopens_the_loan():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        checker = _checker(c)
        prod = _product(c, fiscal_year=1402)
        _, lid = _paper_loan(c, 1, prod, 1200000)
        owed = c.get(f"/v1/loans/{lid}").json["outstanding_rials"]
        r = _ok(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": owed, "date": "2024-03-01"}),
                "pay off", 201)
        eq(r["status"], "closed")
        n = r["repayments"][0]["number"]
        _ok(c.post(f"/v1/loans/{lid}/repayments/{n}/void", {"reason": "cheque bounced"}), "ask", 202)
        r = _ok(c.post(f"/v1/loans/{lid}/repayments/{n}/void/approve", {}, key=checker), "void")
        eq((r["status"], r.get("closed_on"), r["repaid_rials"], r["outstanding_rials"]),
           ("disbursed", None, 0, owed), "the loan is open again:")
        check("loans.loan.reopened" in [e["type"] for e in c.events_since("loans")])


def test_loan_dates_as_they_happened():
    with Cluster(["registry", "loans"], clock=TODAY,
                 env={"HY_PROGRAMME_START": "1402/01/01"}) as c:
        prod = _product(c, fiscal_year=1401)
        pid, bid = _borrower(c, 1)
        _refused(c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                      "amount_rials": 1000000, "applied_on": "2023-03-01"}),
                 422, "before_programme_start")


def test_loans_follow_a_merge_of_two_person_records():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c, fiscal_year=1402)
        gone, lid = _paper_loan(c, 1, prod, 12000000)
        into = _ok(c.post("/v1/persons", person(2)), "survivor", 201)["id"]
        _ok(c.post(f"/v1/persons/{gone}/merge", {"into": into}), "merge")
        for _ in range(100):
            items = c.get(f"/v1/loans?person_id={into}").json["items"]
            if items:
                break
            time.sleep(0.1)
        eq([x["id"] for x in items], [lid], "her loan is found under the surviving id:")
        eq(c.get(f"/v1/loans/{lid}").json["person_id"], into)
        eq(c.get(f"/v1/loans?person_id={gone}").json["items"], [])
        # she still has a loan in progress under the surviving id
        bus = _ok(c.post("/v1/businesses", {"owner_id": into, "activity": "x", "field": "handicrafts",
                                            "stage": "developing"}), "business", 201)["id"]
        _refused(c.post("/v1/loans", {"person_id": into, "business_id": bus, "product_id": prod,
                                      "amount_rials": 1000000, "applied_on": "2024-01-05"}),
                 422, "active_loan_exists")
        # the retired id takes no new loan: it names where she is now
        r = c.post("/v1/loans", {"person_id": gone, "business_id": bus, "product_id": prod,
                                 "amount_rials": 1000000, "applied_on": "2024-01-05"})
        _refused(r, 422, "merged_person")
        eq(r.json["merged_into"], into)
        ev = [e for e in c.events_since("loans") if e["type"] == "loans.loan.person_merged"]
        eq([(e["data"]["from_person_id"], e["data"]["person_id"]) for e in ev], [(gone, into)])


def test_stalled_registry_delays_no_loan_request_for_a_known_person():
    """Issue 13 item 2: the registry is stopped (SIGSTOP); an application naming a person loans
    has not seen parks, and an application for a known person sent after it is answered first.
    Ordering, not timing. Registered then applied at once still works."""
    with Cluster(["registry", "loans"], clock=TODAY, env={"HY_PARK_MS": "2500"}) as c:
        prod = _product(c)
        known = [_borrower(c, 1 + i) for i in range(2)]   # registered, then applied at once:
        eq(c.post("/v1/loans", {"person_id": known[0][0], "business_id": known[0][1],
                                "product_id": prod, "amount_rials": 1000}).status, 201)
        reg = c.procs["registry"]
        reg.send_signal(signal.SIGSTOP)
        try:
            parked = {}

            def unknown():
                parked["r"] = c.post("/v1/loans", {"person_id": "prs_999", "business_id": "bus_999",
                                                   "product_id": prod, "amount_rials": 1000})

            t = threading.Thread(target=unknown)
            t.start()
            time.sleep(0.3)
            r = c.post("/v1/loans", {"person_id": known[1][0], "business_id": known[1][1],
                                     "product_id": prod, "amount_rials": 1000})
            done_first = "r" not in parked
            eq(r.status, 201, f"a known person while the registry is stalled: {r}")
            check(done_first, f"the known person waited for the unknown one: {parked}")
            t.join(30)
            _refused(parked["r"], 422, "unknown_person")
        finally:
            reg.send_signal(signal.SIGCONT)


def test_disbursement_void_restores_the_loan_as_before():
    """Fineract's undo disbursal under maker-checker: the last tranche voided by a second key
    brings back the schedule it replaced (and the earlier repayments' allocation); the only
    tranche voided makes the loan approved again, to be paid out anew."""
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        checker = _checker(c)
        prod = _product(c, fiscal_year=1402)
        _, lid = _paper_loan(c, 1, prod, 100000000, disbursed=None)
        _ok(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 60000000, "date": "2024-01-10"}),
            "tranche 1")
        _ok(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 5200000, "date": "2024-02-09"}),
            "repay", 201)
        before = c.get(f"/v1/loans/{lid}").json
        r = _ok(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 40000000, "date": "2024-03-15"}),
                "tranche 2")
        eq([d["number"] for d in r["disbursements"]], [1, 2])
        _refused(c.post(f"/v1/loans/{lid}/disbursements/1/void", {"reason": "x"}), 409,
                 "not_last_disbursement")
        _ok(c.post(f"/v1/loans/{lid}/disbursements/2/void", {"reason": "paid twice"}), "ask", 202)
        _refused(c.post(f"/v1/loans/{lid}/disbursements/2/void/approve", {}), 422, "same_approver")
        r = _ok(c.post(f"/v1/loans/{lid}/disbursements/2/void/approve", {}, key=checker), "void")
        for k in ("status", "schedule", "disbursed_rials", "fee_rials", "repayments",
                  "outstanding_principal_rials", "outstanding_fee_rials", "paid_rials"):
            eq(r.get(k), before.get(k), k)
        eq([(d["number"], d["voided"], d["void_reason"]) for d in r["voided_disbursements"]],
           [(2, True, "paid twice")])
        _refused(c.post(f"/v1/loans/{lid}/disbursements/1/void", {"reason": "x"}), 409,
                 "repayments_after")
        # the only tranche of another loan: the loan is approved again
        _, l2 = _paper_loan(c, 2, prod, 12000000, disbursed=None)
        fee = c.get(f"/v1/loans/{l2}").json["fee_rials"]   # fixed at approval
        _ok(c.post(f"/v1/loans/{l2}/disburse", {"amount_rials": 12000000, "date": "2024-01-10"}),
            "paid out")
        _ok(c.post(f"/v1/loans/{l2}/disbursements/1/void", {"reason": "wrong loan"}), "ask", 202)
        r = _ok(c.post(f"/v1/loans/{l2}/disbursements/1/void/approve", {}, key=checker), "void")
        eq((r["status"], r.get("schedule"), r["disbursed_rials"]), ("approved", None, 0))
        eq(r["fee_rials"], fee, "the fee fixed at approval:")
        r = _ok(c.post(f"/v1/loans/{l2}/disburse", {"amount_rials": 12000000, "date": "2024-01-11"}),
                "paid out anew")
        eq(r["status"], "disbursed")
        ev = [e["type"] for e in c.events_since("loans")]
        check("loans.loan.disbursement_voided" in ev and "loans.loan.disbursement_void_requested" in ev)


def test_kill9_after_an_approved_void_loses_nothing():
    """The void's event is written in the transaction of the void: a kill -9 right after the
    approval is answered loses neither the state nor the event (followers catch up by sequence)."""
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        checker = _checker(c)
        prod = _product(c, fiscal_year=1402)
        _, lid = _paper_loan(c, 1, prod, 12000000)
        r = _ok(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 300000, "date": "2024-02-01"}),
                "repay", 201)
        n = r["repayments"][0]["number"]
        _ok(c.post(f"/v1/loans/{lid}/repayments/{n}/void", {"reason": "bounced"}), "ask", 202)
        _ok(c.post(f"/v1/loans/{lid}/repayments/{n}/void/approve", {}, key=checker), "approve")
        c.restart("loans")
        g = _ok(c.get(f"/v1/loans/{lid}"), "after kill -9")
        eq((g["repayments"], g["repaid_rials"], len(g["voided_repayments"])), ([], 0, 1))
        ev = [e for e in c.events_since("loans") if e["type"] == "loans.loan.repayment_voided"]
        eq([e["subject"] for e in ev], [lid], "the event survived:")
