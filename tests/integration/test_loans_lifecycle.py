"""Loans lifecycle items of issue 12, each through the real gateway: withdrawal, approval rules,
fiscal year at approval, recoveries after write-off, backdated entries, rescheduling history,
tranches, fee method and who may borrow on a network product."""
from harness import Cluster, check, eq
from test_loans import TODAY, _borrower, _product, _refused, _types


def _apply(c, pid, bid, prod, amount, key="social_services", **extra):
    body = {"person_id": pid, "business_id": bid, "product_id": prod, "amount_rials": amount}
    body.update(extra)
    return c.post("/v1/loans", body, key=key)


def test_withdraw_releases_person_and_cap():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c)
        pid, bid = _borrower(c, 1)
        r = _apply(c, pid, bid, prod, 400000000)
        eq(r.status, 201, f"{r}")
        lid = r.json["id"]
        _refused(c.post(f"/v1/loans/{lid}/withdraw", {}), 400, "missing_field")
        r = c.post(f"/v1/loans/{lid}/withdraw", {"reason": "she found the money at home"})
        eq(r.status, 200, f"withdraw an application: {r}")
        eq(r.json["status"], "withdrawn")
        eq(r.json["withdrawal"]["reason"], "she found the money at home")
        eq(r.json["withdrawal"]["date"], TODAY)
        _refused(c.post(f"/v1/loans/{lid}/withdraw", {"reason": "again"}), 409, "wrong_state")
        # an approved but undisbursed loan: blocks her, holds the cap, until withdrawn
        from test_loans import _approved
        lid = _approved(c, pid, bid, prod, 400000000)
        _refused(_apply(c, pid, bid, prod, 1000), 422, "active_loan_exists")
        r = c.post(f"/v1/loans/{lid}/withdraw", {"reason": "the loom was a gift"})
        eq(r.status, 200, f"withdraw an approved loan: {r}")
        eq(r.json["status"], "withdrawn")
        check("loans.loan.withdrawn" in _types(c), "withdrawn event")
        r = _apply(c, pid, bid, prod, 500000000)
        eq(r.status, 201, f"the whole cap is hers again: {r}")
        eq(c.get(f"/v1/loans?status=withdrawn").json["items"][0]["status"], "withdrawn")
        # a loan with money out is not withdrawn
        pid2, bid2 = _borrower(c, 2)
        lid = _approved(c, pid2, bid2, prod, 1000000)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 500000, "date": TODAY}).status, 200)
        _refused(c.post(f"/v1/loans/{lid}/withdraw", {"reason": "x"}), 409, "wrong_state")
