"""Issue 13 item 2 and issue 15 for the micro-fund: no waiting on the registry from inside a
transaction (a request naming a person not seen yet parks), offices as boundaries, corrections of
money under maker-checker and memberships following a merge of two person records."""
import signal
import threading
import time

from harness import Cluster, check, eq, person, refused as _refused
from test_loans import _checker
from test_microfund import CLOCK, _fund, _meeting, _persons


def _saved_and_lent(c, fid, borrower, guarantor):
    """A meeting where both save, then a loan of 1,000 rials to borrower; returns its id."""
    eq(_meeting(c, fid, "2024-02-01", [borrower, guarantor], shares=5).status, 201)
    r = c.post(f"/v1/funds/{fid}/loans", {"person_id": borrower, "amount_rials": 1000,
                                         "term_months": 1, "guarantor_ids": [guarantor],
                                         "date": "2024-02-01"})
    eq(r.status, 201, f"loan: {r}")
    return r.json["id"]


def test_stalled_registry_delays_no_fund_request_for_a_known_person():
    """The registry is stopped (SIGSTOP). A join naming a person the fund has not seen parks; a
    join of a known person sent after it is answered first; the parked one is refused 422
    unknown_person at its deadline. Ordering, not timing. Registered then joined at once works."""
    with Cluster(["registry", "microfund"], clock=CLOCK, env={"HY_PARK_MS": "2500"}) as c:
        ids = _persons(c, 1, 3)
        fid = _fund(c, ids[:1])   # registered, then used at once
        reg = c.procs["registry"]
        reg.send_signal(signal.SIGSTOP)
        try:
            parked = {}

            def unknown():
                parked["r"] = c.post(f"/v1/funds/{fid}/members",
                                     {"person_id": "prs_999", "joined": "2024-01-01"})

            t = threading.Thread(target=unknown)
            t.start()
            time.sleep(0.3)
            r = c.post(f"/v1/funds/{fid}/members", {"person_id": ids[1], "joined": "2024-01-01"})
            done_first = "r" not in parked
            eq(r.status, 201, f"a known person while the registry is stalled: {r}")
            check(done_first, f"the known person waited for the unknown one: {parked}")
            t.join(30)
            _refused(parked["r"], 422, "unknown_person")
        finally:
            reg.send_signal(signal.SIGCONT)


def test_fund_office_boundaries_and_dates():
    """A key of office rey-2 neither reads nor changes rey-1's fund, its meetings or its loans,
    and forms funds only for its own office; a province key sees all."""
    with Cluster(["registry", "microfund"], clock=CLOCK,
                 env={"HY_PROGRAMME_START": "1402/01/01"}) as c:
        b = c.make_key("social_services", office="rey-2", key_id="office-b")
        prov = c.make_key("social_services", office="*", key_id="province")
        time.sleep(1.2)
        ids = _persons(c, 1, 3)
        fid = _fund(c, ids[:2])
        lid = _saved_and_lent(c, fid, ids[0], ids[1])
        _refused(c.get(f"/v1/funds/{fid}", key=b), 403, "other_office")
        _refused(c.get(f"/v1/funds/{fid}/meetings", key=b), 403, "other_office")
        _refused(c.post(f"/v1/funds/{fid}/members", {"person_id": ids[2], "joined": "2024-01-01"},
                        key=b), 403, "other_office")
        _refused(c.post(f"/v1/funds/{fid}/meetings", {"date": "2024-02-02", "attendance": [ids[0]],
                                                      "savings": [{"person_id": ids[0], "shares": 1}]},
                        key=b), 403, "other_office")
        _refused(c.get(f"/v1/fund-loans/{lid}", key=b), 403, "other_office")
        _refused(c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": 10, "date": "2024-02-02"}, key=b), 403,
                 "other_office")
        eq(c.get(f"/v1/funds/{fid}").json["members"][-1]["person_id"], ids[1], "nothing changed:")
        eq(c.get("/v1/funds", key=b).json["items"], [], "B's list holds no A fund:")
        _refused(c.get("/v1/funds?office=rey-1", key=b), 403, "other_office")
        eq([f["id"] for f in c.get("/v1/funds?office=rey-1", key=prov).json["items"]], [fid])
        eq(c.get(f"/v1/funds/{fid}", key=prov).status, 200)
        body = {"name": "x", "neighbourhood": "شهرری", "facilitator_person_id": ids[0],
                "office": "rey-1", "cycle": {"start": "2024-01-01", "end": "2024-12-31"},
                "rules": c.get(f"/v1/funds/{fid}").json["rules"]}
        _refused(c.post("/v1/funds", body, key=b), 403, "other_office")
        # dates as they happened: nothing before the programme start
        _refused(c.post(f"/v1/funds/{fid}/members", {"person_id": ids[2], "joined": "2023-01-01"}),
                 422, "before_programme_start")


def test_meeting_void_needs_a_second_key_and_reverses_its_money():
    """A meeting recorded by mistake: one key asks to void it, another approves; its savings,
    social fund, fines and grants leave the books and the members' totals; it stays readable
    (voided) and a meeting can be recorded again on its date (a correction)."""
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        checker = _checker(c)
        ids = _persons(c, 1, 3)
        fid = _fund(c, ids)
        eq(_meeting(c, fid, "2024-02-01", ids, shares=2, social=ids).status, 201)
        before = c.get(f"/v1/funds/{fid}").json
        m = _meeting(c, fid, "2024-02-08", ids[:2], shares=5, social=ids[:1],
                     fines=[{"person_id": ids[2], "amount_rials": 3000, "reason": "late"}],
                     grants=[{"person_id": ids[1], "amount_rials": 1000, "reason": "illness"}])
        eq(m.status, 201, f"{m}")
        path = f"/v1/funds/{fid}/meetings/2024-02-08/void"
        _refused(c.post(path + "/approve", {}, key=checker), 409, "no_void_request")
        r = c.post(path, {"reason": "entered twice on paper"})
        eq(r.status, 202, f"void requested: {r}")
        eq(r.json["void_request"]["reason"], "entered twice on paper")
        eq(c.get(f"/v1/funds/{fid}").json["cash"]["box_rials"] != before["cash"]["box_rials"], True,
           "a requested void changes nothing yet:")
        _refused(c.post(path, {"reason": "again"}), 409, "void_pending")
        _refused(c.post(path + "/approve", {}), 422, "same_approver")
        r = c.post(path + "/approve", {}, key=checker)
        eq(r.status, 200, f"approved: {r}")
        eq((r.json["voided"], r.json["void_reason"]), (True, "entered twice on paper"))
        after = c.get(f"/v1/funds/{fid}").json
        eq(after["cash"], before["cash"], "the meeting's money left the books:")
        eq([(m["person_id"], m["shares"], m["savings_rials"]) for m in after["members"]],
           [(m["person_id"], m["shares"], m["savings_rials"]) for m in before["members"]])
        eq(after["cycle"]["meetings"], before["cycle"]["meetings"])
        g = c.get(f"/v1/funds/{fid}/meetings/2024-02-08").json
        eq((g["voided"], g["number"]), (True, m.json["number"]), "it stays readable:")
        pb = c.get(f"/v1/funds/{fid}/members/{ids[0]}/passbook").json
        eq([e.get("date") for e in pb.get("entries", []) if e.get("date") == "2024-02-08"], [],
           "the passbook counts it nowhere:")
        _refused(c.post(path, {"reason": "x"}), 409, "voided")
        ev = [e for e in c.events_since("microfund") if e["type"] == "microfund.meeting_voided"]
        eq(len(ev), 1)
        eq(ev[0]["data"]["before"]["date"], "2024-02-08")
        # a correction: the meeting as it really was, on the same date
        m2 = _meeting(c, fid, "2024-02-08", ids[:2], shares=1)
        eq(m2.status, 201, f"recorded again on the voided meeting's date: {m2}")
        eq(m2.json["replaces"]["voided"], True)
        eq(c.get(f"/v1/funds/{fid}").json["cash"]["box_rials"],
           before["cash"]["box_rials"] + 2 * 10000)


def test_fund_membership_follows_a_merge_of_two_person_records():
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        ids = _persons(c, 1, 3)
        fid = _fund(c, ids[:2])
        lid = _saved_and_lent(c, fid, ids[0], ids[1])
        eq(c.post(f"/v1/persons/{ids[0]}/merge", {"into": ids[2]}).status, 200)
        for _ in range(100):
            f = c.get(f"/v1/funds/{fid}").json
            if ids[2] in [m["person_id"] for m in f["members"]]:
                break
            time.sleep(0.1)
        eq(sorted(m["person_id"] for m in f["members"]), sorted([ids[2], ids[1]]),
           "her membership belongs to the surviving id:")
        eq(f["facilitator_person_id"], ids[2])
        eq(c.get(f"/v1/fund-loans/{lid}").json["person_id"], ids[2])
        eq(c.get(f"/v1/funds/{fid}/members/{ids[2]}/passbook").status, 200)
        check(any(e["type"] == "microfund.member_merged" for e in c.events_since("microfund")))
        r = c.post(f"/v1/funds/{fid}/members", {"person_id": ids[0], "joined": "2024-01-01"})
        _refused(r, 422, "merged_person")
        eq(r.json["merged_into"], ids[2], "the retired id names where she is now:")


def test_fund_loan_repayment_void_rederives_the_rest_and_reopens():
    """A fund-loan repayment recorded by mistake: voided by a second key, the splits of the
    others are derived again (service charge first), the fund's books move back, and the loan it
    had repaid is active again."""
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        checker = _checker(c)
        ids = _persons(c, 1, 2)
        fid = _fund(c, ids)
        eq(_meeting(c, fid, "2024-02-01", ids, shares=5).status, 201)
        before = c.get(f"/v1/funds/{fid}").json["cash"]
        r = c.post(f"/v1/funds/{fid}/loans", {"person_id": ids[0], "amount_rials": 60000,
                                             "term_months": 2, "guarantor_ids": [ids[1]],
                                             "date": "2024-02-01"})
        eq(r.status, 201, f"loan: {r}")
        lid, owed = r.json["id"], r.json["principal_rials"] + r.json["charge_rials"]
        charge = r.json["charge_rials"]
        for amount, date in ((1000, "2024-02-10"), (owed - 1000, "2024-03-01")):
            eq(c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": amount, "date": date})
               .status, 201)
        eq(c.get(f"/v1/fund-loans/{lid}").json["status"], "repaid")
        path = f"/v1/fund-loans/{lid}/repayments/1/void"
        eq(c.post(path, {"reason": "not her money"}).status, 202)
        _refused(c.post(path + "/approve", {}), 422, "same_approver")
        r = c.post(path + "/approve", {}, key=checker)
        eq(r.status, 200, f"approved: {r}")
        loan = c.get(f"/v1/fund-loans/{lid}").json
        eq(loan["status"], "active", "the loan is owed again:")
        reps = loan["repayments"]
        eq((reps[0]["voided"], reps[0]["void_reason"]), (True, "not her money"))
        eq((reps[1]["charge_rials"], reps[1]["principal_rials"]), (charge, owed - 1000 - charge),
           "the remaining repayment pays the charge first:")
        eq((loan["paid_charge_rials"], loan["paid_principal_rials"]), (charge, owed - 1000 - charge))
        cash = c.get(f"/v1/funds/{fid}").json["cash"]
        eq(cash["loans_outstanding_rials"], 1000)
        eq(cash["box_rials"], before["box_rials"] + charge - 1000)
        pb = c.get(f"/v1/funds/{fid}/members/{ids[0]}/passbook").json
        eq(len([e for e in pb["entries"] if e["kind"] == "repayment"]), 1,
           "the passbook counts the voided repayment nowhere:")
        eq(c.post(f"/v1/fund-loans/{lid}/repayments", {"amount_rials": 1000, "date": "2024-03-02"})
           .status, 201, "and the loan can be repaid again")


def test_training_void_counts_nowhere():
    """A training session recorded by mistake is voided by one key (no money): it stays readable
    and the fund's trained persons are those of the sessions still standing."""
    with Cluster(["registry", "microfund"], clock=CLOCK) as c:
        b = c.make_key("social_services", office="rey-2", key_id="office-b")
        time.sleep(1.2)
        ids = _persons(c, 1, 3)
        fid = _fund(c, ids[:2])
        for day, part in (("2024-02-03", ids[:1]), ("2024-02-10", ids)):
            eq(c.post(f"/v1/funds/{fid}/trainings", {"date": day, "participants": part}).status, 201)
        eq(sorted(c.get(f"/v1/funds/{fid}").json["trained_person_ids"]), sorted(ids))
        _refused(c.post(f"/v1/funds/{fid}/trainings/2/void", {"reason": "x"}, key=b), 403,
                 "other_office")
        r = c.post(f"/v1/funds/{fid}/trainings/2/void", {"reason": "another fund's session"})
        eq(r.status, 200, f"void: {r}")
        eq((r.json["voided"], r.json["void_reason"]), (True, "another fund's session"))
        eq(c.get(f"/v1/funds/{fid}").json["trained_person_ids"], ids[:1],
           "only the sessions still standing count:")
        eq(c.get(f"/v1/funds/{fid}/trainings/2").json["voided"], True)
        _refused(c.post(f"/v1/funds/{fid}/trainings/2/void", {"reason": "x"}), 409, "voided")
        _refused(c.post(f"/v1/funds/{fid}/trainings/9/void", {"reason": "x"}), 404, "not_found")
        ev = [e for e in c.events_since("microfund") if e["type"] == "microfund.training_voided"]
        eq([(e["data"]["number"], e["data"]["before"]["date"]) for e in ev], [(2, "2024-02-10")])
