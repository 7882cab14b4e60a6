"""The micro-fund service end to end: gateway -> broker -> microfund (following the registry) -> LMDB
-> events, over real sockets, with the clock fixed at 2024-06-15 (cycles run over 2024)."""
import datetime
import random
import threading
import time
import urllib.parse

from harness import Cluster, check, eq, person, recv_events

CLOCK = "2024-06-15"
RULES = {"share_value_rials": 10000, "max_shares_per_meeting": 5, "loan_multiple": 3,
         "service_charge_bp_month": 150, "guarantors_required": 1, "max_term_months": 6,
         "social_fund_rials": 2000, "guarantor_exposure_multiple": 2}


def _persons(c, first, n):
    ids = []
    for i in range(first, first + n):
        r = c.post("/v1/persons", person(i))
        eq(r.status, 201, f"person {i}: {r}")
        ids.append(r.json["id"])
    return ids


def _fund(c, members, rules=None, name="صندوق گل‌ها", neighbourhood="شهرری", facilitator=None):
    facilitator = facilitator or members[0]
    r = c.post("/v1/funds", {"name": name, "neighbourhood": neighbourhood,
                             "facilitator_person_id": facilitator,
                             "cycle": {"start": "2024-01-01", "end": "2024-12-31"},
                             "rules": dict(RULES, **(rules or {}))})
    eq(r.status, 201, f"fund: {r}")
    fid = r.json["id"]
    for p in members:
        j = c.post(f"/v1/funds/{fid}/members", {"person_id": p, "joined": "2024-01-01"})
        eq(j.status, 201, f"join {p}: {j}")
    return fid


def _meeting(c, fid, date, savers, shares=1, social=(), **extra):
    body = {"date": date, "attendance": list(savers),
            "savings": [{"person_id": p, "shares": shares} for p in savers],
            "social_fund": [{"person_id": p, "amount_rials": RULES["social_fund_rials"]} for p in social]}
    body.update(extra)
    return c.post(f"/v1/funds/{fid}/meetings", body)


def _cash(c, fid):
    r = c.get(f"/v1/funds/{fid}")
    eq(r.status, 200, f"{r}")
    return r.json["cash"]


def _fund_events(c, fid):
    return [e for e in c.events_since("microfund") if e["data"].get("fund_id") == fid]


def test_fund_cycle_end_to_end():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        sub = c.subscribe("microfund")
        ids = _persons(c, 1, 4)
        fid = _fund(c, ids[:3], facilitator=ids[3])
        evs = recv_events(sub, 4)
        eq([t for t, _ in evs], ["microfund.fund.formed"] + ["microfund.member_joined"] * 3)
        formed = evs[0][1]
        eq(formed["subject"], fid)
        eq(formed["data"]["office"], "rey-1")
        eq(formed["data"]["neighbourhood"], "شهرری")
        eq(formed["data"]["date"], CLOCK, "formed today by default:")
        g = c.get(f"/v1/funds/{fid}")
        eq(g.json["cycle"]["start_jalali"], "1402/10/11", "dates are echoed in Jalali:")
        eq(g.json["rules"], RULES)
        lst = c.get("/v1/funds?office=rey-1&neighbourhood=" + urllib.parse.quote("شهرری"))
        eq([f["id"] for f in lst.json["items"]], [fid])

        m = _meeting(c, fid, "2024-02-01", ids[:3], shares=5, social=ids[:3],
                     fines=[{"person_id": ids[2], "amount_rials": 3000, "reason": "تاخیر"}])
        eq(m.status, 201, f"{m}")
        eq(m.json["cash"]["box_rials"], 150000 + 6000 + 3000)
        loan = c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0], "amount_rials": 100000,
                                                 "term_months": 2, "guarantor_ids": [ids[1]],
                                                 "date": "2024-02-01"})
        eq(loan.status, 201, f"{loan}")
        eq(loan.json["charge_rials"], 3000)   # 100000 x 150bp x 2 months
        eq(loan.json["due_date"], "2024-03-31")   # 1402/11/12 + 2 Solar Hijri months = 1403/01/12
        lid = loan.json["id"]
        rp = c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": 103000, "date": "2024-03-20"})
        eq(rp.status, 201, f"{rp}")
        eq(rp.json["status"], "repaid")
        eq(c.get(f"/v1/fund-loans/{lid}").json["outstanding_rials"], 0)
        eq([l["id"] for l in c.get(f"/v1/fund-loans?fund_id={fid}&status=repaid").json["items"]], [lid])
        cash = _cash(c, fid)
        eq(cash["box_rials"], 159000 + 3000)
        eq(cash["social_fund_rials"], 6000)

        pv = c.post(f"/v1/funds/{fid}/shareout?preview=true", {"date": "2024-06-01"})
        eq(pv.status, 200, f"{pv}")
        eq(pv.json["preview"], True)
        eq(_cash(c, fid)["box_rials"], 162000, "a preview changes nothing:")
        so = c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-06-01"})
        eq(so.status, 200, f"{so}")
        eq(so.json["payouts"], pv.json["payouts"])
        eq(so.json["profit_rials"], 6000)                   # charge 3000 + fine 3000
        eq([p["paid_rials"] for p in so.json["payouts"]], [52000] * 3)
        eq(so.json["paid_rials"] + so.json["social_fund_carried_rials"], 162000, "every rial:")
        eq(_cash(c, fid), {"box_rials": 6000, "social_fund_rials": 6000, "loan_cash_rials": 0,
                           "loans_outstanding_rials": 0, "savings_rials": 0})
        eq(c.post(f"/v1/funds/{fid}/shareout", {}).json["code"], "cycle_closed")
        nc = c.post(f"/v1/funds/{fid}/cycles", {"start": "2024-06-02", "end": "2025-05-31"})
        eq(nc.status, 201, f"{nc}")
        eq(nc.json["cycle"]["number"], 2)
        eq(nc.json["cash"]["social_fund_rials"], 6000, "the social fund carries over:")

        tr = c.post(f"/v1/funds/{fid}/trainings", {"date": "2024-06-10", "topic": "دفترداری",
                                                   "participants": ids})
        eq(tr.status, 201, f"{tr}")
        types = [e["type"] for e in _fund_events(c, fid)]
        for t in ("microfund.meeting_held", "microfund.saving_recorded", "microfund.loan_issued",
                  "microfund.repayment_recorded", "microfund.shareout_completed",
                  "microfund.cycle_started", "microfund.training_held", "microfund.fine_paid",
                  "microfund.social_fund_contributed"):
            check(t in types, f"{t} in {types}")
        held = [e for e in _fund_events(c, fid) if e["type"] == "microfund.training_held"][0]["data"]
        eq((held["participants"], held["participant_ids"], held["members"]), (4, ids, 3))
        for e in _fund_events(c, fid):
            eq((e["data"]["office"], e["data"]["neighbourhood"]), ("rey-1", "شهرری"), e["type"])
        paths = c.get("/v1/openapi.json", key=None).json["paths"]
        for path in ("/v1/funds", "/v1/funds/{id}/meetings", "/v1/funds/{id}/shareout",
                     "/v1/fund-loans/{id}/repayments", "/v1/funds/{id}/members/{person_id}/leave"):
            check(path in paths, f"{path} in the OpenAPI document")
        a = c.get(f"/v1/audit?entity={lid}", key="auditor")
        eq([i["type"] for i in a.json["items"]], ["microfund.loan_issued", "microfund.repayment_recorded"])


def test_refusals_have_codes_and_change_nothing():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        ids = _persons(c, 10, 4)
        fid = _fund(c, ids[:3])
        eq(_meeting(c, fid, "2024-02-01", ids[:3], shares=1, social=ids[:1]).status, 201)
        # cash 32000, social 2000, loan cash 30000; each limit 30000; guarantor cap 20000
        before = c.get(f"/v1/funds/{fid}").json
        n_events = len(c.events_since("microfund"))

        def refused(r, status, code, field=None):
            eq(r.status, status, f"{code}: {r}")
            eq(r.headers.get("Content-Type", "").split(";")[0], "application/problem+json")
            eq(r.json["code"], code)
            if field:
                eq(r.json.get("field"), field, f"{code}:")

        loan = lambda **kw: c.post(f"/v1/funds/{fid}/loans", dict(
            {"person_id": ids[0], "amount_rials": 10000, "term_months": 1, "guarantor_ids": [ids[1]]}, **kw))
        refused(loan(amount_rials=30001, guarantor_ids=[ids[1], ids[2]]), 422, "over_member_limit", "amount_rials")
        refused(loan(amount_rials=20001), 422, "guarantor_capacity", "guarantor_ids[0]")
        refused(loan(term_months=7), 422, "over_max_term", "term_months")
        refused(loan(guarantor_ids=[]), 422, "guarantors_required", "guarantor_ids")
        refused(loan(guarantor_ids=[ids[0]]), 422, "guarantors_required", "guarantor_ids[0]")
        refused(loan(guarantor_ids=[ids[3]]), 422, "not_a_member", "guarantor_ids[0]")
        refused(loan(person_id=ids[3]), 422, "not_a_member", "person_id")
        refused(loan(date="2023-12-31"), 422, "outside_cycle", "date")
        refused(loan(date="2024-06-16"), 422, "future_date", "date")
        refused(_meeting(c, fid, "2024-02-01", []), 409, "duplicate_meeting", "date")
        refused(_meeting(c, fid, "2024-02-08", ids[:1], shares=6), 422, "over_max_shares", "savings[0].shares")
        refused(c.post(f"/v1/funds/{fid}/meetings", {"date": "2024-02-08", "attendance": [ids[0]],
                                                     "savings": [{"person_id": ids[1], "shares": 1}]}),
                422, "absent_saver", "savings[0].person_id")
        refused(_meeting(c, fid, "2024-02-08", ids[:1], grants=[{"person_id": ids[1], "amount_rials": 2001,
                                                                  "reason": "بیماری"}]),
                422, "insufficient_social_fund", "grants")
        refused(c.post(f"/v1/funds/{fid}/members", {"person_id": "prs_999"}), 422, "unknown_person", "person_id")
        refused(c.post(f"/v1/funds/{fid}/members", {"person_id": ids[0]}), 409, "already_member")
        refused(c.post(f"/v1/funds/{fid}/cycles", {"start": "2025-01-01", "end": "2025-12-31"}), 422, "cycle_open")
        refused(c.post(f"/v1/funds/{fid}/meetings", {"date": "2024-02-08", "attendance": [], "x": 1}),
                400, "unknown_field", "x")
        refused(c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0]}), 400, "missing_field")
        refused(c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0], "amount_rials": 10, "term_months": 1},
                       key="auditor"), 403, "forbidden")
        refused(c.get("/v1/funds/fund_999"), 404, "not_found")
        refused(c.get("/v1/fund-loans/floan_999"), 404, "not_found")
        eq(c.get(f"/v1/funds/{fid}").json, before, "the fund is unchanged:")
        eq(len(c.events_since("microfund")), n_events, "no event for any refusal:")

        # A person the registry acknowledged a moment ago is never refused as unknown.
        fresh = c.post("/v1/persons", person(99)).json["id"]
        eq(c.post(f"/v1/funds/{fid}/members", {"person_id": fresh}).status, 201)


def test_cash_never_negative_under_concurrent_requests():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        ids = _persons(c, 100, 20)
        fid = _fund(c, ids, rules={"guarantors_required": 0})
        eq(_meeting(c, fid, "2024-02-01", ids, shares=1, social=ids[:5]).status, 201)
        # box 210000, social 10000: 200000 to lend; 20 loans of 30000 would need 600000
        results = []
        lock = threading.Lock()

        def borrow(p):
            r = c.post(f"/v1/funds/{fid}/loans", {"person_id": p, "amount_rials": 30000, "term_months": 3})
            with lock:
                results.append((r.status, (r.json or {}).get("code")))

        threads = [threading.Thread(target=borrow, args=(p,)) for p in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [s for s, _ in results if s == 201]
        eq(len(ok), 6, f"exactly 200000 // 30000 loans: {results}")
        eq(sorted({code for s, code in results if s != 201}), ["insufficient_fund_cash"])
        cash = _cash(c, fid)
        eq(cash["box_rials"], 210000 - 6 * 30000)
        eq(cash["loan_cash_rials"], 20000)
        eq(cash["social_fund_rials"], 10000, "the social fund was not lent:")

        # grants (from the social fund) and loans (from the loan cash) racing: neither dips below 0
        def grant(i):
            r = c.post(f"/v1/funds/{fid}/meetings", {
                "date": f"2024-03-{i + 1:02d}", "attendance": [],
                "grants": [{"person_id": ids[i], "amount_rials": 3000, "reason": "اضطرار"}]})
            with lock:
                results.append(("grant", r.status, (r.json or {}).get("code")))

        def borrow_more(p):
            r = c.post(f"/v1/funds/{fid}/loans", {"person_id": p, "amount_rials": 15000, "term_months": 3})
            with lock:
                results.append(("loan", r.status, (r.json or {}).get("code")))
        results.clear()
        threads = [threading.Thread(target=grant, args=(i,)) for i in range(10)]
        free = [m["person_id"] for m in c.get(f"/v1/funds/{fid}").json["members"] if "active_loan_id" not in m]
        threads += [threading.Thread(target=borrow_more, args=(p,)) for p in free[:10]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        grants = [r for r in results if r[0] == "grant"]
        loans = [r for r in results if r[0] == "loan"]
        eq(sum(1 for r in grants if r[1] == 201), 3, f"10000 of social fund pays three grants of 3000: {grants}")
        eq({r[2] for r in grants if r[1] != 201}, {"insufficient_social_fund"})
        eq(sum(1 for r in loans if r[1] == 201), 1, f"20000 of loan cash lends one 15000: {loans}")
        eq({r[2] for r in loans if r[1] != 201}, {"insufficient_fund_cash"})
        cash = _cash(c, fid)
        eq(cash, {"box_rials": 30000 - 9000 - 15000, "social_fund_rials": 1000, "loan_cash_rials": 5000,
                  "loans_outstanding_rials": 195000, "savings_rials": 200000})


def test_kill9_during_meeting_stream_loses_nothing_acknowledged():
    # the clock at the cycle's end: every meeting date of 2024 is in the past (future_date)
    with Cluster(["registry", "microfund"], clock="2024-12-31") as c:
        funds = []
        for w in range(4):
            ids = _persons(c, 200 + 10 * w, 4)
            funds.append((_fund(c, ids, name=f"fund {w}"), ids))
        acked = {fid: [] for fid, _ in funds}
        lock = threading.Lock()
        stop = threading.Event()
        day0 = datetime.date(2024, 1, 1)

        def writer(fid, ids):
            for k in range(360):
                date = (day0 + datetime.timedelta(days=k)).isoformat()
                r = None
                while r is None or r.status == 503:
                    # while the service is down (503: never delivered), the same date again, so
                    # that the dates are not used up before it is back
                    if stop.is_set():
                        return
                    if r is not None:
                        time.sleep(0.05)
                    try:
                        r = _meeting(c, fid, date, ids, shares=1 + k % 5)
                    except OSError:
                        r = None
                        time.sleep(0.05)
                if r.status == 201:
                    with lock:
                        acked[fid].append((date, r.json["totals"]["savings_rials"]))

        threads = [threading.Thread(target=writer, args=f) for f in funds]
        for t in threads:
            t.start()
        # killed once 100 of the 1,440 meetings are acknowledged (ordering, not a pause: four
        # writers can post every meeting of the year within a second)
        deadline = time.time() + 30
        while time.time() < deadline and sum(len(v) for v in acked.values()) < 100:
            time.sleep(0.01)
        n_at_kill = sum(len(v) for v in acked.values())
        c.restart("microfund")   # kill -9 in the middle of the stream, start again
        deadline = time.time() + 15   # requests caught by the kill wait out the gateway timeout
        while time.time() < deadline and sum(len(v) for v in acked.values()) < n_at_kill + 20:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join()
        check(n_at_kill > 20, f"meetings were acknowledged before the kill ({n_at_kill})")
        check(sum(len(v) for v in acked.values()) > n_at_kill, "and after the restart")
        evs = c.events_since("microfund")
        eq([e["seq"] for e in evs], list(range(1, len(evs) + 1)), "gapless sequence:")
        for fid, _ in funds:
            held = {e["data"]["date"]: e["data"]["totals"]["savings_rials"]
                    for e in evs if e["type"] == "microfund.meeting_held" and e["data"]["fund_id"] == fid}
            for date, saved in acked[fid]:
                eq(held.get(date), saved, f"{fid} meeting {date} acknowledged, so kept:")
            f = c.get(f"/v1/funds/{fid}").json
            eq(f["meetings_held"], len(held), "one meeting per meeting_held event:")
            eq(f["cycle"]["savings_rials"], sum(held.values()), "savings match the events:")
            saved = sum(e["data"]["amount_rials"] for e in evs
                        if e["type"] == "microfund.saving_recorded" and e["data"]["fund_id"] == fid)
            eq(saved, f["cash"]["box_rials"], "the cash box is the sum of the savings recorded:")


def test_shareout_over_generated_cycles():
    rng = random.Random(20240615)
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        pool = _persons(c, 300, 12)
        deadline = time.time() + 25
        for case in range(10):
            if time.time() > deadline:
                break
            members = rng.sample(pool, rng.randint(3, 8))
            rules = {"share_value_rials": rng.randint(1, 50) * 1000 + rng.randint(0, 999),
                     "service_charge_bp_month": rng.randint(0, 400),
                     "guarantors_required": rng.randint(0, 2), "guarantor_exposure_multiple": 3}
            fid = _fund(c, members, rules=rules, name=f"case {case}")
            open_loans = {}
            for k in range(rng.randint(3, 7)):
                date = (datetime.date(2024, 1, 2) + datetime.timedelta(days=7 * k)).isoformat()
                present = [p for p in members if rng.random() < 0.85]
                body = {"date": date, "attendance": present,
                        "savings": [{"person_id": p, "shares": rng.randint(1, 5)} for p in present],
                        "social_fund": [{"person_id": p, "amount_rials": 2000} for p in present if rng.random() < 0.5],
                        "fines": [{"person_id": p, "amount_rials": rng.randint(1, 999), "reason": "x"}
                                  for p in present if rng.random() < 0.2]}
                eq(c.post(f"/v1/funds/{fid}/meetings", body).status, 201)
                for p in rng.sample(members, 2):
                    if p in open_loans:
                        owed = c.get(f"/v1/fund-loans/{open_loans[p]}").json["outstanding_rials"]
                        r = c.post(f"/v1/fund-loans/{open_loans[p]}/repayments",
                                   {"amount_rials": rng.randint(1, owed), "date": date})
                        eq(r.status, 201, f"{r}")
                        if r.json["status"] == "repaid":
                            del open_loans[p]
                        continue
                    others = [q for q in members if q != p]
                    r = c.post(f"/v1/funds/{fid}/loans", {
                        "person_id": p, "amount_rials": rng.randint(1000, 200000), "date": date,
                        "term_months": rng.randint(1, 6),
                        "guarantor_ids": rng.sample(others, rules["guarantors_required"])})
                    check(r.status == 201 or r.json["code"] in (
                        "over_member_limit", "insufficient_fund_cash", "guarantor_capacity",
                        "guarantor_overdue"), f"{r}")
                    if r.status == 201:
                        open_loans[p] = r.json["id"]
            before = _cash(c, fid)
            check(before["box_rials"] >= 0 and before["loan_cash_rials"] >= 0, before)
            so = c.post(f"/v1/funds/{fid}/shareout", {"date": "2024-03-01"})
            eq(so.status, 200, f"{so}")
            s = so.json
            eq(sum(p["paid_rials"] for p in s["payouts"]) + s["social_fund_carried_rials"],
               before["box_rials"], f"case {case}: paid + carried == cash box")
            eq(sum(p["profit_rials"] for p in s["payouts"]), s["profit_rials"])
            eq(sum(p["covered_rials"] + p["loss_rials"] for p in s["payouts"]),
               sum(d["debt_rials"] for d in s["defaults"]), "open loans settled from payouts:")
            for d in s["defaults"]:
                eq(d["borrower_rials"] + sum(g["rials"] for g in d["guarantors"]) + d["shared_rials"],
                   d["principal_rials"] + d["charge_rials"], f"{d}")
            eq(len(s["defaults"]), len(open_loans))
            for p in s["payouts"]:
                floor = s["profit_rials"] * p["shares"] // s["total_shares"]
                check(p["profit_rials"] - floor in (0, 1), p)
                check(p["paid_rials"] >= 0, p)
            after = _cash(c, fid)
            eq(after["box_rials"], s["social_fund_carried_rials"])
            eq(after["loans_outstanding_rials"], 0)
