"""Records an office can run on, insurance part (issue 15) and no waiting on the registry inside a
transaction (issue 13 item 2): office boundaries on enrolments, voided contributions that reach
the fund as events, dates as they happened, enrolments following a merge of two persons, and a
stalled registry that delays no request about a known person."""
import signal
import threading
import time

from harness import Cluster, check, eq, person, ok as _ok, refused as _refused

TODAY = "2025-07-15"
FIELD = "services"


def _keys(c):
    """Office rey-2's key, the province's ('*') and a second key of rey-1 (the checker)."""
    keys = {"a": "social_services", "b": c.make_key("social_services", office="rey-2"),
            "p": c.make_key("social_services", office="*"),
            "a2": c.make_key("social_services", office="rey-1")}
    time.sleep(1.2)  # the gateway rereads its keys file at most once a second
    return keys


def _worker(c, n, key="social_services"):
    p = _ok(c.post("/v1/persons", person(n), key=key), f"person {n}")
    b = _ok(c.post("/v1/businesses", {"owner_id": p["id"], "activity": "خیاطی", "field": FIELD},
                   key=key), "business")
    return p["id"], b["id"]


def _enrol(c, who, key="social_services", start="2025-07-01"):
    return c.post("/v1/enrolments", {"person_id": who[0], "business_id": who[1], "field": FIELD,
                                     "start_date": start}, key=key)


def _insured(c, who, number, key="social_services"):
    """An enrolment taken to confirmed."""
    e = _ok(_enrol(c, who, key=key), "enrol")
    _ok(c.post(f"/v1/enrolments/{e['id']}/approve", key=key), "approve")
    _ok(c.post(f"/v1/enrolments/{e['id']}/submit", key=key), "submit")
    return _ok(c.post(f"/v1/enrolments/{e['id']}/confirm", {"insurance_number": number},
                      key="insurance_fund"), "confirm")


def _pay(c, eid, month, key="social_services", **kw):
    body = {"month_jalali": month, "amount_rials": 1000, "subsidy_rials": 700, "person_rials": 300}
    body.update(kw)
    return c.post(f"/v1/enrolments/{eid}/contributions", body, key=key)


def test_stalled_registry_delays_no_enrolment_for_a_known_person():
    """The registry is stopped (SIGSTOP): a request naming a person insurance has not seen is
    parked, not waited for inside a transaction, so a request about a known person sent after it
    is answered first; the parked one is refused 422 unknown_person at its deadline."""
    with Cluster(["registry", "insurance"], clock=TODAY, env={"HY_PARK_MS": "2500"}) as c:
        known = [_worker(c, 41), _worker(c, 42)]
        _ok(_enrol(c, known[0]), "registered, then enrolled at once")
        time.sleep(1.0)   # the follow loop has applied both registrations
        reg = c.procs["registry"]
        reg.send_signal(signal.SIGSTOP)
        try:
            parked = {}

            def unknown():
                parked["r"] = _enrol(c, ("prs_999", known[1][1]))

            t = threading.Thread(target=unknown)
            t.start()
            time.sleep(0.3)   # sent first (what follows holds whenever it arrives)
            r = _enrol(c, known[1])
            done_first = "r" not in parked
            eq(r.status, 201, f"a known person while the registry is stalled: {r}")
            check(done_first, f"the known person waited for the unknown one: {parked}")
            t.join(30)
            _refused(parked["r"], 422, "unknown_person", "person_id")
        finally:
            reg.send_signal(signal.SIGCONT)


def test_enrolment_office_scoping_matrix():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        k = _keys(c)
        wa = _worker(c, 11)
        wb = _worker(c, 12, key=k["b"])
        eb = _insured(c, wb, "B-1", key=k["b"])
        _ok(_pay(c, eb["id"], "1404/04", key=k["b"]), "B pays")
        wb2 = _worker(c, 13, key=k["b"])
        before = len(c.events_since("insurance"))
        seen = c.get(f"/v1/enrolments/{eb['id']}", key=k["b"]).json
        writes = [
            ("POST", "/v1/enrolments", {"person_id": wb2[0], "business_id": wb2[1], "field": FIELD,
                                        "start_date": "2025-07-01"}),
            ("POST", f"/v1/enrolments/{eb['id']}/approve", None),
            ("POST", f"/v1/enrolments/{eb['id']}/submit", None),
            ("POST", f"/v1/enrolments/{eb['id']}/suspend", {"reason": "x"}),
            ("POST", f"/v1/enrolments/{eb['id']}/reinstate", None),
            ("POST", f"/v1/enrolments/{eb['id']}/cancel", {"reason": "x"}),
            ("POST", f"/v1/enrolments/{eb['id']}/contributions",
             {"month_jalali": "1404/05", "amount_rials": 10, "subsidy_rials": 5, "person_rials": 5}),
            ("POST", f"/v1/enrolments/{eb['id']}/contributions/void",
             {"month_jalali": "1404/04", "reason": "entered twice"}),
            ("PATCH", f"/v1/enrolments/{eb['id']}", {"start_date": "2025-07-02", "reason": "x"}),
        ]
        for method, path, body in writes:
            r = c.request(method, path, body=body)
            eq((r.status, (r.json or {}).get("code")), (403, "other_office"),
               f"A's key: {method} {path}: {r}")
        eq(len(c.events_since("insurance")), before, "no refused write left an event:")
        eq(c.get(f"/v1/enrolments/{eb['id']}", key=k["b"]).json, seen, "B's enrolment unchanged:")
        # reads: an office sees its own enrolments; the province and the fund see all
        _refused(c.get(f"/v1/enrolments/{eb['id']}"), 403, "other_office")
        ea = _ok(_enrol(c, wa), "A enrols its own")
        eq([e["id"] for e in _ok(c.get("/v1/enrolments"), "A's list")["items"]], [ea["id"]])
        _refused(c.get("/v1/enrolments?office=rey-2"), 403, "other_office", "office")
        eq(sorted(e["id"] for e in _ok(c.get("/v1/enrolments", key=k["p"]), "all")["items"]),
           sorted([ea["id"], eb["id"]]))
        eq([e["id"] for e in _ok(c.get("/v1/enrolments?office=rey-2", key=k["p"]), "B's")["items"]],
           [eb["id"]])
        _ok(c.get(f"/v1/enrolments/{eb['id']}", key="insurance_fund"), "the fund reads any office's")
        _ok(c.post(f"/v1/enrolments/{eb['id']}/suspend", {"reason": "by the province"}, key=k["p"]),
            "the province writes B's")


def test_contribution_void_reaches_the_fund_and_dates_as_they_happened():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        k = _keys(c)
        e = _insured(c, _worker(c, 21), "V-1")
        eid = e["id"]
        _refused(_pay(c, eid, "1404/04", paid_date="2013-01-01"), 422, "before_programme_start",
                 "paid_date")
        _refused(_pay(c, eid, "1404/04", paid_date="2025-07-16"), 422, "future_date", "paid_date")
        p = _ok(_pay(c, eid, "1404/04", paid_date_jalali="1404/04/20"), "pay")
        eq((p["contributions"][0]["paid_date"], p["contributions"][0]["paid_date_jalali"]),
           ("2025-07-11", "1404/04/20"))
        body = {"month_jalali": "1404/04", "reason": "the payment bounced"}
        _refused(c.post(f"/v1/enrolments/{eid}/contributions/void", body), 422, "same_approver")
        _refused(c.post(f"/v1/enrolments/{eid}/contributions/void",
                        {"month_jalali": "1404/03", "reason": "x"}, key=k["a2"]), 404, "not_found",
                 "month_jalali")
        _refused(c.post(f"/v1/enrolments/{eid}/contributions/void", {"month_jalali": "1404/04"},
                        key=k["a2"]), 400, "missing_field", "reason")
        v = _ok(c.post(f"/v1/enrolments/{eid}/contributions/void", body, key=k["a2"]), "void")
        entry = v["contributions"][0]
        eq((entry["voided"], entry["void_reason"], entry["month_jalali"]),
           (True, "the payment bounced", "1404/04"))
        check(entry["voided_by"] and entry["voided_at"], entry)
        _refused(c.post(f"/v1/enrolments/{eid}/contributions/void", body, key=k["a2"]), 409, "voided")
        ev = [x for x in c.events_since("insurance") if x["subject"] == eid][-1]
        eq(ev["type"], "insurance.enrolment.contribution_voided")
        eq((ev["data"]["contribution"]["month_jalali"], ev["data"]["reason"],
            ev["data"]["contribution"]["amount_rials"]), ("1404/04", "the payment bounced", 1000))
        check("created_by" not in ev["data"]["contribution"], f"no staff key reaches the fund: {ev}")
        # a voided month counts nowhere: it can be paid again, and is overdue until it is
        again = _ok(_pay(c, eid, "1404/04"), "the month paid again")
        eq(len(again["contributions"]), 2)
        feed = _ok(c.get("/v1/feeds/enrolments?after=0&limit=1000", key="insurance_fund"), "feed")
        types = [x["type"] for x in feed["events"] if x["subject"] == eid]
        eq(types[-2:], ["insurance.enrolment.contribution_voided",
                        "insurance.enrolment.contribution_recorded"], "the fund sees the void:")
        audit = _ok(c.get(f"/v1/audit?entity={eid}", key="auditor"), "audit")["items"]
        check("insurance.enrolment.contribution_voided" in [a["type"] for a in audit], audit)


def test_merge_repoints_enrolments_and_resolves_two_active_ones():
    """Two records of one woman, each with an enrolment: the merged id's enrolment belongs to the
    survivor; of two active enrolments the more advanced stays (openIMIS keeps one policy per
    insuree), the other is cancelled with the reason, and the fund hears of both."""
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        w1, w2, w3, w4 = (_worker(c, n) for n in (31, 32, 33, 34))
        keep = _insured(c, w1, "M-1")
        drop = _ok(_enrol(c, w2), "w2's enrolment")
        _ok(c.post(f"/v1/persons/{w2[0]}/merge", {"into": w1[0]}), "merge w2 into w1")
        lone = _ok(_enrol(c, w3), "w3's enrolment")
        _ok(c.post(f"/v1/persons/{w3[0]}/merge", {"into": w4[0]}), "merge w3 into w4")
        deadline = time.time() + 15
        while time.time() < deadline:
            d = c.get(f"/v1/enrolments/{drop['id']}").json
            m = c.get(f"/v1/enrolments/{lone['id']}").json
            if d["person_id"] == w1[0] and m["person_id"] == w4[0]:
                break
            time.sleep(0.2)
        eq((d["person_id"], d["status"]), (w1[0], "cancelled"), f"the newer one is cancelled: {d}")
        check(keep["id"] in d["history"][-1]["reason"], d["history"][-1])
        k = c.get(f"/v1/enrolments/{keep['id']}").json
        eq((k["person_id"], k["status"]), (w1[0], "confirmed"))
        eq((m["person_id"], m["status"], m["national_id"]),
           (w4[0], "requested", c.get(f"/v1/persons/{w4[0]}").json["national_id"]),
           "a lone enrolment follows with the survivor's details:")
        eq(c.get(f"/v1/enrolments?person_id={w2[0]}").json["items"], [], "no one under the old id")
        eq(sorted(e["id"] for e in c.get(f"/v1/enrolments?person_id={w1[0]}").json["items"]),
           sorted([keep["id"], drop["id"]]))
        evs = [(x["type"], x["subject"]) for x in c.events_since("insurance")]
        check(("insurance.enrolment.person_merged", lone["id"]) in evs, evs)
        check(("insurance.enrolment.cancelled", drop["id"]) in evs, evs)
        r = _enrol(c, w2)
        _refused(r, 422, "person_merged", "person_id")
        eq(r.json["merged_into"], w1[0])


def test_voids_reach_the_fund_exactly_once_through_kill9():
    """Contributions voided and paid again while the insurance service and the fund's consumer
    are killed -9 at seeded random moments: the outbox stays gapless, the consumer's file is the
    outbox exactly once each, every acknowledged void has its event, and each enrolment's
    record agrees with its events."""
    import os
    import random
    from test_insurance import _chaos, _count_lines, _read_lines
    n = 12 if "asan" in os.environ.get("HY_BUILD", "") else 30
    rnd = random.Random(20261203)
    with Cluster(["registry", "insurance"], env={"HY_LOG_LEVEL": "warn"}, clock=TODAY) as c:
        k = _keys(c)
        ids = []
        for i in range(n):
            e = _insured(c, _worker(c, 200 + i), f"K-{i}")
            _ok(_pay(c, e["id"], "1404/04"), "pay")
            ids.append(e["id"])
        out, state = os.path.join(c.dir, "fund.jsonl"), os.path.join(c.dir, "fund.state")

        def start(tag):
            c.start_proc("fund-sync", ["--http", f"http://127.0.0.1:{c.http_port}", "--key",
                                       c.keys["insurance_fund"], "--wait", "5", "--state", state,
                                       "--out", out], tag=tag)

        start("fund-sync-http")
        acked = {}
        done = threading.Event()

        def ask(path, body, key, idem, ok):
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    r = c.post(path, body, key=key, headers={"Idempotency-Key": idem}, timeout=10)
                except OSError:
                    r = None
                if r is not None and r.status == ok:
                    return True
                if r is not None and r.status < 500:
                    return False
                time.sleep(0.1)
            return False

        def writer(w):
            for eid in ids[w::3]:
                acked[eid] = (ask(f"/v1/enrolments/{eid}/contributions/void",
                                  {"month_jalali": "1404/04", "reason": "bounced"}, k["a2"], f"v-{eid}", 200)
                              and ask(f"/v1/enrolments/{eid}/contributions",
                                      {"month_jalali": "1404/04", "amount_rials": 1000, "subsidy_rials": 700,
                                       "person_rials": 300}, "social_services", f"p-{eid}", 201))

        writers = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for t in writers:
            t.start()
        kills = {"insurance": 0, "fund-sync-http": 0}
        chaos_t = threading.Thread(target=_chaos, args=(c, kills, start, rnd, done, 6, (0.3, 1.0), 0.5))
        chaos_t.start()
        for t in writers:
            t.join()
        done.set()
        chaos_t.join()
        check(all(acked.get(e) for e in ids), f"every void and payment acknowledged: {acked}")
        check(min(kills.values()) >= 1, f"each process was killed: {kills}")
        c.wait_ready()
        truth = c.events_since("insurance")
        last = truth[-1]["seq"]
        eq([e["seq"] for e in truth], list(range(1, last + 1)), "the outbox is gapless:")
        wait_until = time.time() + 60
        while time.time() < wait_until and _count_lines(out) < last:
            time.sleep(0.3)
        lines = _read_lines(out)
        eq([e["seq"] for e in lines], list(range(1, last + 1)), "the fund's file: 1..last once each:")
        check(lines == truth, "the fund's events are the outbox's, unchanged")
        for eid in ids:
            mine = [e["type"] for e in truth if e["subject"] == eid]
            eq(mine.count("insurance.enrolment.contribution_voided"), 1, f"{eid}: one void event:")
            rec = c.get(f"/v1/enrolments/{eid}").json
            eq([bool(x.get("voided")) for x in rec["contributions"]], [True, False], f"{eid}: {rec}")
            eq(rec["months_overdue"], 0, f"{eid}: the month paid again counts")


def test_enrolments_follow_a_transfer_to_another_office():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        k = _keys(c)
        w = _worker(c, 51)
        e = _ok(_enrol(c, w), "enrol")
        _ok(c.post(f"/v1/persons/{w[0]}/transfer", {"office": "rey-2", "date": "2025-07-10"}), "transfer")
        deadline = time.time() + 15
        while time.time() < deadline:
            r = c.get(f"/v1/enrolments/{e['id']}", key=k["b"])
            if r.status == 200 and r.json["office"] == "rey-2":
                break
            time.sleep(0.2)
        eq((r.status, r.json.get("office")), (200, "rey-2"), f"her new office has her enrolment: {r}")
        _refused(c.post(f"/v1/enrolments/{e['id']}/approve"), 403, "other_office")
        _ok(c.post(f"/v1/enrolments/{e['id']}/approve", key=k["b"]), "the new office approves")
        ev = [x for x in c.events_since("insurance") if x["subject"] == e["id"]]
        eq([x["type"] for x in ev], ["insurance.enrolment.requested", "insurance.enrolment.transferred",
                                     "insurance.enrolment.approved"])
        eq((ev[1]["data"]["from_office"], ev[1]["data"]["office"], ev[1]["data"]["date"]),
           ("rey-1", "rey-2", "2025-07-10"))


def test_enrolment_corrected_before_it_reaches_the_fund():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        w = _worker(c, 61)
        e = _ok(_enrol(c, w), "enrol")
        eid = e["id"]
        _refused(c.patch(f"/v1/enrolments/{eid}", {"start_date": "2025-07-01"}), 400, "missing_field", "reason")
        _refused(c.patch(f"/v1/enrolments/{eid}", {"start_date": "2024-01-01", "reason": "x"}), 422,
                 "start_date_out_of_range", "start_date")
        _refused(c.patch(f"/v1/enrolments/{eid}", {"field": "agriculture", "reason": "x"}), 422,
                 "field_mismatch", "field")
        before = len(c.events_since("insurance"))
        r = _ok(c.patch(f"/v1/enrolments/{eid}", {"start_date_jalali": "1404/05/01",
                                                  "reason": "the form said Mordad"}), "correct")
        eq((r["start_date"], r["start_date_jalali"], r["correction_reason"]),
           ("2025-07-23", "1404/05/01", "the form said Mordad"))
        ev = c.events_since("insurance")[before:]
        eq([x["type"] for x in ev], ["insurance.enrolment.corrected"])
        eq((ev[0]["data"]["start_date"], ev[0]["data"]["before"]["start_date"], ev[0]["data"]["reason"]),
           ("2025-07-23", "2025-07-01", "the form said Mordad"))
        _ok(c.post(f"/v1/enrolments/{eid}/approve"), "approve")
        _ok(c.post(f"/v1/enrolments/{eid}/submit"), "submit")
        _refused(c.patch(f"/v1/enrolments/{eid}", {"start_date": "2025-07-01", "reason": "x"}), 409,
                 "wrong_state")
