"""Micro-fund rules of issue 12 end to end through the gateway, with the clock at 2024-06-15:
dates, the share-out settling (not forgiving) debts, the charge on the time used, guarantor
capacity, reading the books back, and Solar Hijri due dates."""
from harness import Cluster, check, eq
from test_microfund import CLOCK, _fund, _meeting, _persons


def _refused(r, status, code, field=None):
    eq(r.status, status, f"{code}: {r}")
    eq(r.json["code"], code, f"{r}")
    if field:
        eq(r.json.get("field"), field, f"{code}:")


def test_dates_future_outside_cycle_before_last_activity():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        ids = _persons(c, 400, 3)
        fid = _fund(c, ids)
        eq(_meeting(c, fid, "2024-02-01", ids, shares=5).status, 201)
        before = c.get(f"/v1/funds/{fid}").json
        # after today (2024-06-15), inside the cycle: refused
        _refused(_meeting(c, fid, "2024-06-16", ids), 422, "future_date", "date")
        _refused(c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0], "amount_rials": 10000, "term_months": 1,
                                                   "guarantor_ids": [ids[1]], "date": "2024-07-01"}),
                 422, "future_date", "date")
        _refused(c.post(f"/v1/funds/{fid}/trainings", {"date": "2024-06-16", "participants": ids}),
                 422, "future_date", "date")
        eq(c.get(f"/v1/funds/{fid}").json, before, "nothing booked:")
        loan = c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0], "amount_rials": 10000, "term_months": 1,
                                                 "guarantor_ids": [ids[1]], "date": "2024-03-01"})
        eq(loan.status, 201, f"{loan}")
        lid = loan.json["id"]
        _refused(c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": 100, "date": "2024-06-16"}),
                 422, "future_date", "date")
        eq(c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": 100, "date": "2024-04-10"}).status, 201)
        # the share-out may not come before the last meeting, loan or repayment of the cycle
        _refused(c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-04-09"}), 422, "before_last_activity", "date")
        _refused(c.post(f"/v1/funds/{fid}/shareout?preview=true", {"date": "2024-04-09"}),
                 422, "before_last_activity", "date")
        _refused(c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-06-20"}), 422, "future_date", "date")
        eq(c.post(f"/v1/funds/{fid}/shareout?preview=true", {"date": "2024-12-31"}).status, 200,
           "a preview of the planned share-out may look ahead")
        eq(c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-04-10"}).status, 200)

    # a repayment after the cycle's end (the clock past it, the share-out not yet held)
    with Cluster(["registry", "microfund"], clock="2025-02-01") as c:
        ids = _persons(c, 410, 2)
        fid = _fund(c, ids)
        eq(_meeting(c, fid, "2024-02-01", ids, shares=5).status, 201)
        loan = c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0], "amount_rials": 10000, "term_months": 1,
                                                 "guarantor_ids": [ids[1]], "date": "2024-12-01"})
        eq(loan.status, 201, f"{loan}")
        _refused(c.post(f"/v1/fund-loans/{loan.json['id']}/repayments", {"amount_rials": 100, "date": "2025-01-05"}),
                 422, "outside_cycle", "date")
        eq(c.post(f"/v1/fund-loans/{loan.json['id']}/repayments", {"amount_rials": 100, "date": "2024-12-31"}).status,
           201)
