"""Micro-fund rules of issue 12 end to end through the gateway, with the clock at 2024-06-15:
dates, the share-out settling (not forgiving) debts, the charge on the time used, guarantor
capacity, reading the books back, and Solar Hijri due dates."""
from harness import Cluster, check, eq, refused as _refused
from test_microfund import CLOCK, _fund, _meeting, _persons


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


def test_shareout_settles_own_debt_first_then_guarantors_then_group():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        a, b, cc = _persons(c, 420, 3)
        fid = _fund(c, [a, b, cc], rules={"service_charge_bp_month": 100, "social_fund_rials": 0,
                                          "guarantor_exposure_multiple": 1})
        eq(c.post(f"/v1/funds/{fid}/meetings", {"date": "2024-01-10", "attendance": [a, b, cc], "savings": [
            {"person_id": a, "shares": 5}, {"person_id": b, "shares": 5}, {"person_id": cc, "shares": 2}]}).status, 201)
        eq(_meeting(c, fid, "2024-01-17", [a, b], shares=5).status, 201)
        # savings a 100000, b 100000, c 20000. c borrows 60000 guaranteed by b; then b borrows 90000.
        l1 = c.post(f"/v1/funds/{fid}/loans", {"person_id": cc, "amount_rials": 60000, "term_months": 3,
                                               "guarantor_ids": [b], "date": "2024-01-20"})
        eq(l1.status, 201, f"{l1}")
        eq(l1.json["charge_rials"], 1800)
        l2 = c.post(f"/v1/funds/{fid}/loans", {"person_id": b, "amount_rials": 90000, "term_months": 3,
                                               "guarantor_ids": [a], "date": "2024-01-21"})
        eq(l2.status, 201, f"{l2}")
        eq(l2.json["charge_rials"], 2700)
        box = c.get(f"/v1/funds/{fid}").json["cash"]["box_rials"]
        eq(box, 70000)
        so = c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-06-01"})
        eq(so.status, 200, f"{so}")
        s = so.json
        # the charges still owed (1800 + 2700) are collected, so they are profit shared by shares
        eq(s["profit_rials"], 4500)
        pay = {p["person_id"]: p for p in s["payouts"]}
        eq([pay[p]["profit_rials"] for p in (a, b, cc)], [2046, 2045, 409])
        eq([pay[p]["entitled_rials"] for p in (a, b, cc)], [102046, 102045, 20409])
        # b's payout settles her own 92700 before the guarantee she gave on c's loan
        d = {x["loan_id"]: x for x in s["defaults"]}
        own = d[l2.json["id"]]
        eq((own["status"], own["borrower_rials"], own["debt_rials"], own["charge_rials"]),
           ("settled_at_shareout", 92700, 92700, 2700))
        eq(own["guarantors"][0]["rials"], 0, "nothing falls on a's guarantee:")
        other = d[l1.json["id"]]
        eq((other["status"], other["borrower_rials"], other["guarantors"][0]["rials"], other["shared_rials"]),
           ("defaulted", 20409, 102045 - 92700, 61800 - 20409 - 9345))
        eq([pay[p]["paid_rials"] for p in (a, b, cc)], [70000, 0, 0])
        eq(sum(p["paid_rials"] for p in s["payouts"]) + s["social_fund_carried_rials"], box, "every rial:")
        g = c.get(f"/v1/fund-loans/{l2.json['id']}").json
        eq((g["status"], g["outstanding_rials"], g["settlement"]["charge_rials"]), ("settled_at_shareout", 0, 2700))
        g = c.get(f"/v1/fund-loans/{l1.json['id']}").json
        eq((g["status"], g["outstanding_rials"]), ("defaulted", 0))
        eq([x["id"] for x in c.get(f"/v1/fund-loans?fund_id={fid}&status=settled_at_shareout").json["items"]],
           [l2.json["id"]])
        cash = c.get(f"/v1/funds/{fid}").json["cash"]
        eq((cash["box_rials"], cash["loans_outstanding_rials"]), (0, 0))
        types = [e["type"] for e in c.events_since("microfund")]
        check("microfund.loan_settled" in types and "microfund.loan_defaulted" in types, f"{types}")


def _short_fund(c, members, start="2024-01-01", end="2024-07-31", **rules):
    from test_microfund import RULES
    r = c.post("/v1/funds", {"name": "صندوق کوتاه", "neighbourhood": "شهرری", "facilitator_person_id": members[0],
                             "cycle": {"start": start, "end": end}, "rules": dict(RULES, **rules)})
    eq(r.status, 201, f"{r}")
    for p in members:
        eq(c.post(f"/v1/funds/{r.json['id']}/members", {"person_id": p, "joined": start}).status, 201)
    return r.json["id"]


def test_charge_on_the_months_until_the_effective_due_date():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        ids = _persons(c, 430, 3)
        fid = _short_fund(c, ids)   # the cycle ends 2024-07-31
        eq(_meeting(c, fid, "2024-02-01", ids, shares=5).status, 201)
        eq(_meeting(c, fid, "2024-03-01", ids, shares=5).status, 201)
        # 6 months from 2024-06-01 would be December: the due date is cut to the cycle's end, and
        # the charge is for the 2 months (one whole, one begun) until then: 60000 x 1.5% x 2
        r = c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0], "amount_rials": 60000, "term_months": 6,
                                              "guarantor_ids": [ids[1]], "date": "2024-06-01"})
        eq(r.status, 201, f"{r}")
        eq((r.json["due_date"], r.json["charged_months"], r.json["charge_rials"]), ("2024-07-31", 2, 1800))
        eq(r.json["outstanding_rials"], 61800)
        # a loan inside the cycle is charged for its whole term, as before
        r = c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[1], "amount_rials": 20000, "term_months": 1,
                                              "guarantor_ids": [ids[2]], "date": "2024-06-01"})
        eq(r.status, 201, f"{r}")
        eq((r.json["charged_months"], r.json["charge_rials"]), (1, 300))


def test_guarantor_capacity_counts_her_own_debt_and_guarantees():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        g, b1, b2, b3 = _persons(c, 440, 4)
        fid = _fund(c, [g, b1, b2, b3], rules={"share_value_rials": 500000, "guarantor_exposure_multiple": 1})
        eq(_meeting(c, fid, "2024-02-01", [g, b1, b2, b3], shares=5).status, 201)   # 2,500,000 each
        loan = lambda p, amount, gs, date="2024-05-02": c.post(f"/v1/funds/{fid}/loans", {
            "person_id": p, "amount_rials": amount, "term_months": 6, "guarantor_ids": gs, "date": date})
        eq(loan(b1, 1000000, [g]).status, 201)            # g guarantees 1,000,000
        mine = loan(g, 900000, [b3])                        # and owes 900,000 + 81,000
        eq(mine.status, 201, f"{mine}")
        eq(mine.json["outstanding_rials"], 981000)
        # capacity = 2,500,000 - 981,000 - 1,000,000 = 519,000
        r = loan(b2, 519001, [g])
        _refused(r, 422, "guarantor_capacity", "guarantor_ids[0]")
        eq(r.json.get("capacity_rials"), 519000, f"{r}")
        eq(loan(b2, 519000, [g]).status, 201)

    # the case: she owed 2,990,000 on 2,500,000 of savings and was accepted for 2,500,000 more
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        g, b1, b2, b3 = _persons(c, 450, 4)
        fid = _fund(c, [g, b1, b2, b3], rules={"share_value_rials": 500000, "guarantor_exposure_multiple": 1,
                                               "service_charge_bp_month": 100})
        eq(_meeting(c, fid, "2024-02-01", [g, b1, b2, b3], shares=5).status, 201)
        r = c.post(f"/v1/funds/{fid}/loans", {"person_id": g, "amount_rials": 2900000, "term_months": 3,
                                              "guarantor_ids": [b2, b3], "date": "2024-05-02"})
        eq((r.status, r.json["outstanding_rials"]), (201, 2987000))
        _refused(c.post(f"/v1/funds/{fid}/loans", {"person_id": b1, "amount_rials": 2500000, "term_months": 2,
                                                   "guarantor_ids": [g], "date": "2024-05-03"}),
                 422, "guarantor_capacity", "guarantor_ids[0]")


def test_books_read_back_meetings_trainings_passbook():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        a, b, x = _persons(c, 460, 3)
        fid = _fund(c, [a, b], rules={"service_charge_bp_month": 100})
        eq(c.post(f"/v1/funds/{fid}/meetings", {
            "date": "2024-01-10", "attendance": [a, b],
            "savings": [{"person_id": a, "shares": 3}, {"person_id": b, "shares": 5}],
            "social_fund": [{"person_id": a, "amount_rials": 2000}],
            "fines": [{"person_id": a, "amount_rials": 500, "reason": "تاخیر"}]}).status, 201)
        eq(c.post(f"/v1/funds/{fid}/meetings", {
            "date": "2024-02-10", "attendance": [a, b], "savings": [{"person_id": a, "shares": 2}],
            "grants": [{"person_id": a, "amount_rials": 1000, "reason": "بیماری"}]}).status, 201)
        eq(_meeting(c, fid, "2024-03-10", [b], shares=1).status, 201)
        lo = c.post(f"/v1/funds/{fid}/loans", {"person_id": a, "amount_rials": 100000, "term_months": 2,
                                               "guarantor_ids": [b], "date": "2024-02-15"})
        eq(lo.status, 201, f"{lo}")
        eq(c.post(f"/v1/fund-loans/{lo.json['id']}/repayments", {"amount_rials": 30000, "date": "2024-03-10"}).status, 201)
        for d, who in (("2024-01-20", [a, b, x]), ("2024-02-20", [a])):
            eq(c.post(f"/v1/funds/{fid}/trainings", {"date": d, "topic": "دفترداری", "participants": who}).status, 201)

        # meetings: list (paged, in date order) and get by date
        r = c.get(f"/v1/funds/{fid}/meetings?limit=2")
        eq(r.status, 200, f"{r}")
        eq([m["date"] for m in r.json["items"]], ["2024-01-10", "2024-02-10"])
        check(r.json["next_cursor"], f"a second page: {r.json}")
        r2 = c.get(f"/v1/funds/{fid}/meetings?limit=2&cursor={r.json['next_cursor']}")
        eq(([m["date"] for m in r2.json["items"]], r2.json["next_cursor"]), (["2024-03-10"], None))
        m = c.get(f"/v1/funds/{fid}/meetings/2024-01-10")
        eq(m.status, 200, f"{m}")
        eq((m.json["number"], m.json["totals"]["savings_rials"], m.json["fines"][0]["amount_rials"]), (1, 80000, 500))
        eq(c.get(f"/v1/funds/{fid}/meetings/2024-01-11").status, 404)
        eq(c.get(f"/v1/funds/{fid}/meetings/x").status, 404)
        eq(c.get("/v1/funds/fund_999/meetings").status, 404)
        # trainings: list and get by number
        t = c.get(f"/v1/funds/{fid}/trainings")
        eq([(s["number"], s["date"]) for s in t.json["items"]], [(1, "2024-01-20"), (2, "2024-02-20")])
        t1 = c.get(f"/v1/funds/{fid}/trainings/1")
        eq((t1.status, t1.json["participant_ids"], t1.json["member_ids"]), (200, [a, b, x], [a, b]))
        eq(c.get(f"/v1/funds/{fid}/trainings/3").status, 404)
        eq(c.get(f"/v1/funds/{fid}/trainings/x").status, 404)

        # the passbook of member a before and after the share-out
        p = c.get(f"/v1/funds/{fid}/members/{a}/passbook")
        eq(p.status, 200, f"{p}")
        kinds = [(e["date"], e["kind"], e["amount_rials"]) for e in p.json["entries"]]
        eq(kinds, [("2024-01-10", "saving", 30000), ("2024-01-10", "social_fund", 2000),
                   ("2024-01-10", "fine", 500), ("2024-02-10", "saving", 20000),
                   ("2024-02-10", "grant", 1000), ("2024-02-15", "loan", 102000),
                   ("2024-03-10", "repayment", 30000)])
        eq([e["savings_balance_rials"] for e in p.json["entries"]], [30000, 30000, 30000, 50000, 50000, 50000, 50000])
        eq([e["loan_balance_rials"] for e in p.json["entries"]], [0, 0, 0, 0, 0, 102000, 72000])
        eq(p.json["entries"][-1]["loan_id"], lo.json["id"])
        eq(p.json["balances"], {"savings_rials": 50000, "loan_outstanding_rials": 72000,
                                "social_fund_paid_rials": 2000, "fines_paid_rials": 500,
                                "grants_received_rials": 1000, "shareouts_paid_rials": 0})
        so = c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-06-01"})
        eq(so.status, 200, f"{so}")
        mine = [q for q in so.json["payouts"] if q["person_id"] == a][0]
        p = c.get(f"/v1/funds/{fid}/members/{a}/passbook").json
        eq([e["kind"] for e in p["entries"][-2:]], ["loan_settled", "shareout"])
        settled, share = p["entries"][-2:]
        eq((settled["amount_rials"], settled["loan_balance_rials"]), (72000, 0))
        eq((share["amount_rials"], share["entitled_rials"], share["covered_rials"], share["savings_balance_rials"]),
           (mine["paid_rials"], mine["entitled_rials"], mine["covered_rials"], 0))
        eq(p["balances"]["shareouts_paid_rials"], mine["paid_rials"])
        eq((p["balances"]["savings_rials"], p["balances"]["loan_outstanding_rials"]), (0, 0))
        eq(c.get(f"/v1/funds/{fid}/members/{x}/passbook").status, 404, "never a member:")
        eq(c.get(f"/v1/funds/fund_999/members/{a}/passbook").status, 404)
        paths = c.get("/v1/openapi.json", key=None).json["paths"]
        for path in ("/v1/funds/{id}/meetings/{date}", "/v1/funds/{id}/trainings/{number}",
                     "/v1/funds/{id}/members/{person_id}/passbook"):
            check(path in paths, f"{path} in the OpenAPI document")
        check("get" in paths["/v1/funds/{id}/meetings"] and "get" in paths["/v1/funds/{id}/trainings"], "lists")


def test_due_dates_in_solar_hijri_months_and_wrong_state():
    with Cluster(["registry", "microfund"], clock="2024-12-01") as c:
        ids = _persons(c, 470, 3)
        fid = _fund(c, ids)
        eq(_meeting(c, fid, "2024-02-01", ids, shares=5).status, 201)
        eq(_meeting(c, fid, "2024-03-01", ids, shares=5).status, 201)
        loan = lambda p, g, date, term: c.post(f"/v1/funds/{fid}/loans", {
            "person_id": p, "amount_rials": 10000, "term_months": term, "guarantor_ids": [g], "date": date})
        # 2024-02-10 is 1402/11/21: two Jalali months on is 1403/01/21 = 2024-04-09 (not 04-10)
        r = loan(ids[0], ids[1], "2024-02-10", 2)
        eq(r.status, 201, f"{r}")
        eq((r.json["due_date"], r.json["due_date_jalali"]), ("2024-04-09", "1403/01/21"))
        # 1403/06/31 (2024-09-21) + 1 month: Mehr has 30 days, so 1403/07/30 = 2024-10-21
        r2 = loan(ids[1], ids[2], "2024-09-21", 1)
        eq(r2.status, 201, f"{r2}")
        eq((r2.json["due_date"], r2.json["due_date_jalali"]), ("2024-10-21", "1403/07/30"))
        # a closed loan is in the wrong state for a repayment: the common 409 wrong_state
        owed = r2.json["outstanding_rials"]
        eq(c.post(f"/v1/fund-loans/{r2.json['id']}/repayments", {"amount_rials": owed, "date": "2024-10-01"}).status, 201)
        _refused(c.post(f"/v1/fund-loans/{r2.json['id']}/repayments", {"amount_rials": 1, "date": "2024-10-02"}),
                 409, "wrong_state")
