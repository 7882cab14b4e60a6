"""The loans service never dies on a bad request: unknown ids and wrong states are answered
404/409/422 through the real gateway, and the service keeps serving (under ASan too: the
harness fails a test whose process did not exit cleanly, leaks included)."""
from harness import Cluster, check, eq
from test_loans import TODAY, _approved, _borrower, _product, _refused

# Every op of services/loans/loans_api.c that takes a loan id, with a body it accepts.
LOAN_OPS = [
    ("POST", "appraise", {"appraiser": "a", "recommended_amount_rials": 1}, "social_services"),
    ("POST", "approve", {}, "social_services"),
    ("POST", "reject", {"reason": "x"}, "social_services"),
    ("POST", "withdraw", {"reason": "x"}, "social_services"),
    ("POST", "disburse", {"amount_rials": 1, "date": TODAY}, "social_services"),
    ("POST", "close-tranches", {}, "social_services"),
    ("POST", "repayments", {"amount_rials": 1, "date": TODAY}, "social_services"),
    ("POST", "recoveries", {"amount_rials": 1, "date": TODAY}, "operator"),
    ("POST", "write-off", {"reason": "x"}, "operator"),
    ("POST", "reschedule", {"term_months": 3, "reason": "x"}, "operator"),
    ("GET", "", None, "social_services"),
    ("POST", "repayments/1/void", {"reason": "x"}, "social_services"),
    ("POST", "repayments/1/void/approve", {}, "social_services"),
    ("POST", "repayments/1/void/reject", {"reason": "x"}, "social_services"),
    ("POST", "disbursements/1/void", {"reason": "x"}, "social_services"),
    ("POST", "disbursements/1/void/approve", {}, "social_services"),
    ("POST", "disbursements/1/void/reject", {"reason": "x"}, "social_services"),
]


def _alive(c):
    r = c.get("/v1/loans?limit=1")
    eq(r.status, 200, f"the loans service still serves: {r}")


def _call(c, method, lid, what, body, key):
    path = f"/v1/loans/{lid}" + (f"/{what}" if what else "")
    return c.request(method, path, body=body, key=key)


def test_write_off_of_unknown_loan_is_404_and_service_lives():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        for lid in ("loan_999", "loan_1", "nonsense"):
            _refused(c.post(f"/v1/loans/{lid}/write-off", {"reason": "x"}, key="operator"), 404,
                     "not_found")
            _alive(c)


def test_appraisal_refusal_names_the_requested_amount():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c)
        pid, bid = _borrower(c, 1)
        r = c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                 "amount_rials": 7654321})
        eq(r.status, 201, f"{r}")
        r = c.post(f"/v1/loans/{r.json['id']}/appraise",
                   {"appraiser": "a", "recommended_amount_rials": 7654322})
        _refused(r, 422, "over_requested")
        check("7654321" in r.json["detail"], f"the detail names the real amount: {r.json}")
        _alive(c)


def test_every_loan_op_with_unknown_ids_and_wrong_states():
    """Each op on unknown ids (404) and on a loan in every state it does not apply to (409 or
    422); never a 5xx, and the service answers after every call."""
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        for method, what, body, key in LOAN_OPS:
            for lid in ("loan_424242", "loan_0", "prs_1", "x"):
                r = _call(c, method, lid, what, body, key)
                check(r.status == 404,
                      f"{method} {what} {lid}: {r}")
        for path in ("/v1/loan-products/lpr_999", "/v1/loan-products/loan_1", "/v1/loans/loan_9"):
            eq(c.get(path).status, 404, path)
        for path in ("/v1/loans/portfolio?product_id=lpr_999", "/v1/loans/portfolio?office=rey-1",
                     "/v1/loans?product_id=lpr_999", "/v1/loans/queue"):
            eq(c.get(path).status, 200, path)
        # an office key sees only its office's figures (issue 15)
        eq(c.get("/v1/loans/portfolio?office=nowhere").status, 403)
        _alive(c)
        prod = _product(c)
        loans = {}
        pid, bid = _borrower(c, 7)
        lid = _approved(c, pid, bid, prod, 1000000)
        eq(c.post(f"/v1/loans/{lid}/withdraw", {"reason": "x"}).status, 200)
        loans["withdrawn"] = lid
        pid, bid = _borrower(c, 8)
        lid = _approved(c, pid, bid, prod, 1000000)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 400000, "date": TODAY}).status, 200)
        loans["disbursing"] = lid
        pid, bid = _borrower(c, 1)
        r = c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                 "amount_rials": 1000000})
        loans["applied"] = r.json["id"]
        pid, bid = _borrower(c, 2)
        r = c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                 "amount_rials": 1000000})
        eq(c.post(f"/v1/loans/{r.json['id']}/reject", {"reason": "no"}).status, 200)
        loans["rejected"] = r.json["id"]
        pid, bid = _borrower(c, 3)
        loans["approved"] = _approved(c, pid, bid, prod, 1000000)
        pid, bid = _borrower(c, 4)
        lid = _approved(c, pid, bid, prod, 1000000)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 1000000, "date": TODAY}).status, 200)
        loans["disbursed"] = lid
        pid, bid = _borrower(c, 5)
        lid = _approved(c, pid, bid, prod, 1000000)
        c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 1000000, "date": TODAY})
        eq(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 1040000, "date": TODAY}).json
           ["status"], "closed")
        loans["closed"] = lid
        pid, bid = _borrower(c, 6)
        lid = _approved(c, pid, bid, prod, 1000000)
        c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 1000000, "date": TODAY})
        eq(c.post(f"/v1/loans/{lid}/write-off", {"reason": "x"}, key="operator").status, 200)
        loans["written_off"] = lid
        for state, lid in sorted(loans.items()):
            for method, what, body, key in LOAN_OPS:
                for _ in range(2):   # twice: a failed call must leave nothing half-done
                    r = _call(c, method, lid, what, body, key)
                    check(r.status < 500, f"{what} on a {state} loan: {r}")
                    check(r.status in (200, 201, 202, 404, 409, 422),
                          f"{what} on a {state} loan: {r}")
            _alive(c)
        for state, lid in loans.items():
            eq(c.get(f"/v1/loans/{lid}").status, 200)
        _alive(c)
