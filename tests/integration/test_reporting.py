"""Reporting end to end: the five services write a programme through the gateway, reporting
replicas follow their events, and every figure is checked against a brute-force recomputation
from the raw events (events.since of each service) and, for loans, against the loans service's
own portfolio. Then the printable page in headless Chromium, several replicas behind the
gateway (one killed, one added while the system runs), and kill -9 of a replica during its
catch-up, restart, same figures; --rebuild, same figures.
"""
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

from harness import Cluster, check, eq, person

ALL = ["registry", "loans", "networks", "microfund", "insurance", "reporting"]
SOURCES = ["registry", "loans", "networks", "microfund", "insurance"]
FIELDS = ["agriculture", "industry", "handicrafts", "services"]
HOODS = [["شهرری", "شهرري"], ["دولت‌آباد", "دولتآباد"], ["hood-c", "Hood-C"]]
DISTINCT = ("people_with_loans", "people_counselled", "fund_members_trained", "jobs_created")
LOAN_FIGURES = ("loans_outstanding_rials", "par30_rials", "par30_bp")
MEETINGS = ["working_group", "steering_council", "empowerment_group"]


def _norm(s):
    """The folding the service does for offices and neighbourhoods (hy_fa_normalize's essentials)."""
    if s is None:
        return None
    s = s.replace("ي", "ی").replace("ى", "ی").replace("ك", "ک").replace("\u200c", "")
    s = "".join(str("۰۱۲۳۴۵۶۷۸۹".index(ch)) if ch in "۰۱۲۳۴۵۶۷۸۹" else ch for ch in s)
    return " ".join(s.split()).lower() or None


def _day(iso):
    return datetime.date.fromisoformat(iso)


def _tehran_day(t):
    utc = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
    return (utc + datetime.timedelta(hours=3, minutes=30)).date()


def _ok(r, what):
    check(r.status in (200, 201), f"{what}: {r!r}")
    return r.json


# ---- the brute force ------------------------------------------------------------------------------
class Brute:
    """Every figure recomputed from the raw events for each question (no aggregates kept)."""

    def __init__(self, events):
        self.c = []            # (day, slot, value, person, tags)
        persons, fields, nets, enrol, by_nid = {}, {}, {}, {}, {}
        confirmed, insured = set(), set()

        def tags(office=None, hood=None, sex=None, field=None, network=None):
            return {"office": office, "neighbourhood": hood, "sex": sex, "field": field,
                    "network": network}

        def ptags(office, pid, field=None, network=None):
            p = persons.get(pid, (None, None, None))
            return tags(_norm(office) if office else p[0], p[1], p[2], field, network)

        def add(day, slot, v, t, who=None):
            self.c.append((day, slot, v, who, t))

        def date_of(ev, key):
            d = ev["data"].get(key) if key else None
            return _day(d) if d else _tehran_day(ev["time"])

        for ev in events["registry"]:
            d, t = ev["data"], ev["type"]
            if t == "registry.person.registered":
                persons[d["id"]] = (_norm(d.get("office")), _norm(d.get("neighbourhood")), d["sex"])
                by_nid[d["national_id"]] = d["id"]
                add(_day(d["referrals"][0]["date"]), "beneficiaries", 1,
                    tags(*persons[d["id"]]), d["id"])
            elif t == "registry.business.created":
                fields[d["id"]] = d["field"]
            elif t == "registry.activity.recorded":
                field, day = fields.get(d.get("business_id")), _day(d["date"])
                if d["kind"] == "meeting":
                    add(day, "meetings_" + d["meeting_kind"], 1,
                        tags(_norm(d["office"]), _norm(d.get("neighbourhood")), None, field))
                elif d["kind"] == "training_class":
                    add(day, "classes", 1, tags(_norm(d["office"]), _norm(d.get("neighbourhood")), None, field))
                for pid in d.get("person_ids", []):
                    if d["kind"] == "counselling":
                        add(day, "people_counselled", 1, ptags(d["office"], pid, field), pid)
                    elif d["kind"] == "job_created":
                        add(day, "jobs_created", 1, ptags(d["office"], pid, field), pid)
                        add(day, "job_records", 1, ptags(d["office"], pid, field), pid)
        for ev in events["loans"]:
            d = ev["data"]
            if ev["type"] == "loans.loan.disbursed":
                t = ptags(d["office"], d["person_id"], fields.get(d.get("business_id")))
                add(_day(d["date"]), "loans_disbursed_rials", d["amount_rials"], t)
                add(_day(d["date"]), "people_with_loans", 1, t, d["person_id"])
        for ev in events["networks"]:
            d, t = ev["data"], ev["type"].split(".")[-1]
            if ev["type"] == "networks.network.created":
                nets[d["id"]] = (_norm(d["office"]), d["field"], persons.get(d["lead_person_id"], (0, None))[1])
                continue
            net = nets.get(d.get("network_id"))
            if not net:
                continue
            num = int(d["network_id"].split("_")[-1])
            if t in ("member_joined", "member_left"):
                pt = ptags(None, d["person_id"], net[1], num)
                pt["office"] = net[0]
                day = date_of(ev, "joined" if t == "member_joined" else "left")
                add(day, "network_members", 1 if t == "member_joined" else -1, pt)
                if t == "member_joined" and d.get("job_created"):
                    add(day, "jobs_created", 1, pt, d["person_id"])
                    add(day, "job_records", 1, pt)
            elif t == "order_placed":
                ot = tags(net[0], net[2], None, net[1], num)
                add(date_of(ev, "date"), "network_orders", 1, ot)
                add(date_of(ev, "date"), "network_orders_rials", d["value_rials"], ot)
        for ev in events["microfund"]:
            d, t = ev["data"], ev["type"].split(".")[-1]
            place = tags(_norm(d.get("office")), _norm(d.get("neighbourhood")))
            if t == "formed":
                add(date_of(ev, "date"), "funds_formed", 1, place)
            elif t == "training_held":
                add(date_of(ev, "date"), "fund_training_sessions", 1, place)
                for pid in d.get("member_ids", d.get("participant_ids", [])):
                    add(date_of(ev, "date"), "fund_members_trained", 1, ptags(d["office"], pid), pid)
            elif t in ("saving_recorded", "loan_issued"):
                slot = "fund_savings_rials" if t == "saving_recorded" else "fund_loans_issued_rials"
                add(date_of(ev, "date"), slot, d["amount_rials"], ptags(d["office"], d["person_id"]))
        for ev in events["insurance"]:
            d, t = ev["data"], ev["type"].split(".")[-1]
            if t == "requested":   # counted on the day the request was made
                pt = ptags(d["office"], by_nid.get(d["national_id"]), d["field"])
                enrol[d["enrolment_id"]] = (_tehran_day(ev["time"]), pt)
                add(_tehran_day(ev["time"]), "insurance_enrolled", 1, pt)
            elif t == "confirmed":
                start, pt = enrol[d["enrolment_id"]]
                add(date_of(ev, "confirmed_date"), "insurance_confirmed", 1, pt)
                if d["enrolment_id"] not in confirmed:
                    confirmed.add(d["enrolment_id"])
                    add(start, "insurance_cohort", 1, pt)
                if d["enrolment_id"] not in insured:
                    insured.add(d["enrolment_id"])
                    add(date_of(ev, "confirmed_date"), "insured", 1, pt)
            elif t in ("suspended", "cancelled") and d["enrolment_id"] in insured:
                insured.discard(d["enrolment_id"])
                add(_tehran_day(ev["time"]), "insured", -1, enrol[d["enrolment_id"]][1])

    @staticmethod
    def _match(t, kind, value):
        if kind is None:
            return True
        if kind == "pair":
            return t["office"] == value[0] and t["neighbourhood"] == value[1]
        return t[kind] == value

    def figures(self, frm, to, exact_half, kind=None, value=None):
        """The indicators for from..to (dates), for the rows whose tag `kind` equals value (None:
        not attributed), without the loan stocks (checked against the loans service)."""
        flow, upto, people = {}, {}, {s: set() for s in DISTINCT}
        for day, slot, v, who, t in self.c:
            if not self._match(t, kind, value):
                continue
            if slot in DISTINCT:
                if frm <= day <= to:
                    people[slot].add(who)
                continue
            if day <= to:
                upto[slot] = upto.get(slot, 0) + v
                if day >= frm:
                    flow[slot] = flow.get(slot, 0) + v
        out = {k: flow.get(k, 0) for k in (
            "classes", "job_records", "funds_formed", "fund_training_sessions",
            "loans_disbursed_rials", "insurance_enrolled", "insurance_confirmed", "network_orders",
            "network_orders_rials", "fund_savings_rials", "fund_loans_issued_rials")}
        for m in MEETINGS:
            out["meetings_" + m] = flow.get("meetings_" + m, 0)
        out["beneficiaries_new"] = flow.get("beneficiaries", 0)
        out["beneficiaries_total"] = upto.get("beneficiaries", 0)
        out["network_members_active"] = upto.get("network_members", 0)
        out["insured_at_end"] = upto.get("insured", 0)
        enrolled = flow.get("insurance_enrolled", 0)
        out["insurance_coverage_bp"] = flow.get("insurance_cohort", 0) * 10000 // enrolled if enrolled else 0
        for s in DISTINCT:   # exact for any period (exact_half kept for the callers' sake)
            out[s] = len(people[s])
        out["_any"] = any(upto.values()) or any(people[s] for s in DISTINCT)
        return out

    def values(self, kind):
        return {t[kind] for _, _, _, _, t in self.c}


def _compare(got, want, what):
    bad = [f"{k}: {got.get(k)!r} != {v!r}" for k, v in want.items() if k != "_any" and got.get(k) != v]
    check(not bad, f"{what}: " + "; ".join(bad[:6]))


# ---- a programme written through the gateway ----------------------------------------------------
def _restart(c, clock):
    """Restarts every service (not the gateway) with a new clock, as a new day of work."""
    c.env["HY_CLOCK"] = clock
    for s in c.services:
        c.kill(s, signal.SIGTERM)
        eq(c.procs[s].returncode, 0, f"{s} exit code")
        c.start_proc(s)
    c.wait_ready()


def _programme(c, rnd):
    """Two days of work: on 1403/01/13 persons, businesses, loans approved and disbursed, two
    networks; on 1403/10/26 repayments (some loans left in arrears), members, orders, a fund
    with meetings and trainings, back-dated activities across the halves, enrolments."""
    keys = {"rey-1": c.keys["social_services"], "rey-2": c.make_key("social_services", office="rey-2"),
            "*": c.make_key("social_services", office="*")}  # the province writes for both offices
    c.keys["province_auditor"] = c.make_key("auditor", office="*")  # sees every office's loans
    time.sleep(1.2)   # the gateway rereads its keys file at most once a second
    offices = ["rey-1", "rey-2"]
    people, owners = [], []
    for i in range(36):
        extra = {"office": offices[i % 2], "sex": rnd.choice(["female", "female", "male"])}
        h = rnd.randrange(4)
        extra["neighbourhood"] = rnd.choice(HOODS[h]) if h < 3 else None
        if extra["neighbourhood"] is None:
            del extra["neighbourhood"]
        people.append(_ok(c.post("/v1/persons", person(5000 + i, **extra), key=keys["*"]), "person")["id"])
    for i in range(24):
        b = _ok(c.post("/v1/businesses", key=keys["*"], body={"owner_id": people[i], "activity": "خیاطی",
                                          "field": FIELDS[i % 4], "stage": "developing"}), "business")
        owners.append((people[i], b["id"], FIELDS[i % 4], offices[i % 2]))
    product = _ok(c.post("/v1/loan-products", {"name": "اشتغال خانگی", "kind": "individual",
                                               "cap_rials": 500000000, "fee_rate_bp": 100,
                                               "term_months": 12, "min_stage": "developing",
                                               "fiscal_year": 1403}), "product")["id"]
    loans = []
    for pid, bid, _, office in owners[:10]:
        amount = rnd.randrange(10, 100) * 1000000
        k = keys[office]
        lo = _ok(c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": product,
                                      "amount_rials": amount, "term_months": rnd.choice([6, 12])}, key=k), "loan")
        _ok(c.post(f"/v1/loans/{lo['id']}/appraise", {"appraiser": "کارشناس", "recommended_amount_rials": amount},
                   key=k), "appraise")
        _ok(c.post(f"/v1/loans/{lo['id']}/approve", {}, key=keys["*"]), "approve")  # maker-checker, the province
        _ok(c.post(f"/v1/loans/{lo['id']}/disburse", {"amount_rials": amount, "date": "2024-04-01"}, key=k),
            "disburse")
        loans.append((lo["id"], amount, k))
    nets = [_ok(c.post("/v1/networks", {"name": f"شبکه {n}", "field": owners[10 + n][2], "activity": "پوشاک",
                                        "lead_person_id": owners[10 + n][0],
                                        "lead_business_id": owners[10 + n][1]}), "network")["id"] for n in range(2)]

    _restart(c, "2025-01-15")
    for n, (lid, amount, k) in enumerate(loans[:7]):
        day = _day("2024-04-20")
        for _ in range(rnd.randrange(1, 5) if n >= 3 else 8):   # the first three stay current
            day += datetime.timedelta(days=rnd.randrange(20, 80) if n >= 3 else 30)
            c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": amount // (10 if n >= 3 else 5),
                                                   "date": day.isoformat()}, key=k)
    members = rnd.sample(people, 14)
    for i, pid in enumerate(members):
        joined = _day("2024-04-02") + datetime.timedelta(days=rnd.randrange(0, 280))
        _ok(c.post(f"/v1/networks/{nets[i % 2]}/members", {"person_id": pid, "role": "producer",
                                                           "joined": joined.isoformat()}), "member")
        if i % 4 == 0:
            left = min(joined + datetime.timedelta(days=rnd.randrange(1, 60)), _day("2025-01-15"))
            _ok(c.post(f"/v1/networks/{nets[i % 2]}/members/{pid}/leave", {"date": left.isoformat()}), "leave")
    if people[0] not in members:   # people[0] is touched by every service (timeline test)
        _ok(c.post(f"/v1/networks/{nets[0]}/members", {"person_id": people[0], "role": "producer",
                                                      "joined": "2024-06-10"}), "member")
    buyer = _ok(c.post("/v1/buyers", {"name": "دست‌آفرین", "kind": "shop"}), "buyer")["id"]
    for n in range(3):
        _ok(c.post(f"/v1/networks/{nets[n % 2]}/orders", {"buyer_id": buyer, "due_date": "2025-03-01", "items": [
            {"item": "مانتو", "quantity": 10 + n, "unit_price_rials": 2500000}]}), "order")
    fund = _ok(c.post("/v1/funds", {"name": "صندوق امید", "neighbourhood": HOODS[0][1], "date": "2024-05-01",
                                    "facilitator_person_id": people[30],
                                    "cycle": {"start": "2024-05-01", "end": "2025-04-30"},
                                    "rules": {"share_value_rials": 500000, "max_shares_per_meeting": 5,
                                              "loan_multiple": 3, "service_charge_bp_month": 100,
                                              "guarantors_required": 0, "max_term_months": 6,
                                              "social_fund_rials": 0}}), "fund")["id"]
    savers = people[24:34] + [people[0]]
    for pid in savers:
        _ok(c.post(f"/v1/funds/{fund}/members", {"person_id": pid, "joined": "2024-05-01"}), "fund member")
    for m, day in enumerate(["2024-06-01", "2024-08-01", "2024-10-01", "2024-12-01"]):
        _ok(c.post(f"/v1/funds/{fund}/meetings", {"date": day, "attendance": savers, "savings": [
            {"person_id": p, "shares": 1 + (m + j) % 5} for j, p in enumerate(savers)]}), "meeting")
    for day, part in (("2024-06-15", savers[:6]), ("2024-11-20", savers[3:]), ("2024-12-20", savers[:2])):
        _ok(c.post(f"/v1/funds/{fund}/trainings", {"date": day, "participants": part}), "training")
    c.post(f"/v1/funds/{fund}/loans", {"person_id": savers[0], "amount_rials": 1000000, "term_months": 3,
                                        "date": "2024-12-02"})
    for i in range(60):
        kind = rnd.choice(["meeting", "meeting", "training_class", "counselling", "counselling", "job_created"])
        day = _day("2023-03-21") + datetime.timedelta(days=rnd.randrange(0, 665))
        if i < 4:
            day = _day(["2024-03-19", "2024-03-20", "2024-09-21", "2024-09-22"][i])
        a = {"kind": kind, "date": day.isoformat(), "office": rnd.choice(["rey-1", "rey-2", "REY-1"])}
        if rnd.random() < 0.6:
            a["neighbourhood"] = rnd.choice(rnd.choice(HOODS))
        if kind == "meeting":
            a["meeting_kind"] = rnd.choice(MEETINGS)
        else:
            a["person_ids"] = rnd.sample(people, rnd.randrange(1, 6))
        if rnd.random() < 0.3:
            a["business_id"] = rnd.choice(owners)[1]
        _ok(c.post("/v1/activities", a, key=keys["*"]), "activity")
    for n, (pid, bid, field, office) in enumerate(owners[12:22] + owners[:1]):
        start = _day("2024-03-01") + datetime.timedelta(days=rnd.randrange(0, 300))
        e = c.post("/v1/enrolments", {"person_id": pid, "business_id": bid, "field": field,
                                      "start_date": start.isoformat()}, key=keys[office])
        if e.status == 201 and n % 3:
            eid = e.json["id"]
            c.post(f"/v1/enrolments/{eid}/approve", {})
            c.post(f"/v1/enrolments/{eid}/submit", {})
            c.post(f"/v1/enrolments/{eid}/confirm", {"insurance_number": f"INS-{n:05d}"}, key="insurance_fund")
            if n % 4 == 1:   # a cancelled and a suspended enrolment are no longer insured
                c.post(f"/v1/enrolments/{eid}/cancel", {"reason": "خروج از طرح"}, key=keys[office])
            elif n % 4 == 2:
                c.post(f"/v1/enrolments/{eid}/suspend", {"reason": "عدم پرداخت"}, key=keys[office])


def _heads(c, sources):
    return {s: (c.events_since(s) or [{"seq": 0}])[-1]["seq"] for s in sources}


def _wait_current(c, heads, timeout=120, pids=None):
    """Polls reports until every answer (from every replica in pids, when given) has applied
    every source up to heads; returns the pids seen."""
    deadline, seen = time.time() + timeout, set()
    while time.time() < deadline:
        r = c.get("/v1/reports/half-year?year=1403&half=1")
        if r.status == 200 and all(r.json["as_of"][s]["seq"] >= h for s, h in heads.items()):
            seen.add(r.json["replica"]["pid"])
            if not pids or pids <= seen:
                return seen
        time.sleep(0.1)
    raise AssertionError(f"reporting did not catch up with {heads}: last {r!r}")


def _timeline_expected(events, pid):
    """(date, source, sequence) of every event naming pid, computed from the raw feeds: any
    prs_ id in the data, a loan's borrower for its events naming no one, an enrolment's person
    by national ID; dated by the first business date the data carries, else the Tehran day."""
    nid_of, borrower, out = {}, {}, []
    for si, s in enumerate(SOURCES):
        for ev in events[s]:
            d = ev["data"]
            named = set(re.findall(r'"(prs_[0-9]+)"', json.dumps(d)))
            if ev["type"] == "registry.person.registered":
                nid_of[d["national_id"]] = d["id"]
            if s == "loans" and d.get("person_id"):
                borrower[d["id"]] = d["person_id"]
            elif s == "loans" and not named and d.get("id") in borrower:
                named = {borrower[d["id"]]}
            if s == "insurance" and not named and d.get("national_id") in nid_of:
                named = {nid_of[d["national_id"]]}
            if pid not in named:
                continue
            day = next((d[k] for k in ("date", "registered_on", "joined", "left", "confirmed_date",
                                       "requested_date", "start_date") if isinstance(d.get(k), str) and
                        re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", d[k])), None)
            if not day and ev["type"] == "registry.person.registered":
                day = d["referrals"][0]["date"]
            out.append((day or _tehran_day(ev["time"]).isoformat(), si, ev["seq"], s))
    return [(day, s, seq) for day, _, seq, s in sorted(out)]


def _canonical_digest(doc):
    body = {k: v for k, v in doc.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_submission(c, brute, province, other):
    """A submitted report: signed, its drill-down the records the brute force counts, the same
    bytes after a correction and a restart, and a diff that names what the correction moved."""
    sub = c.post("/v1/reports/half-year/submissions", {"year": 1403, "half": 1, "office": "rey-1"})
    check(sub.status == 201, f"submit: {sub!r}")
    doc = sub.json
    eq(doc["digest"]["value"], _canonical_digest(doc), "SHA-256 over the canonical JSON")
    now = _ok(c.get("/v1/reports/half-year?year=1403&half=1&office=rey-1"), "report now")
    eq(doc["report"]["indicators"], now["indicators"], "the figures frozen are the report's")
    frm, to = _day(doc["report"]["from"]), _day(doc["report"]["cut"])
    for name, slot in (("people_counselled", "people_counselled"), ("people_with_loans", "people_with_loans"),
                       ("jobs_created", "jobs_created"), ("beneficiaries_new", "beneficiaries")):
        want = {who for day, sl, _, who, t in brute.c if sl == slot and frm <= day <= to and t["office"] == "rey-1"}
        fig = _ok(c.get(f"/v1/reports/half-year/submissions/{doc['id']}/figures/{name}"), name)
        eq((set(fig["ids"]), fig["count"], fig["value"]), (want, len(want), doc["report"]["indicators"][name]),
           f"drill-down {name}")
    check(len(doc["records"]["classes"]) == doc["report"]["indicators"]["classes"], "one activity per class")
    first = c.get(f"/v1/reports/half-year/submissions/{doc['id']}").raw
    eq(c.post("/v1/reports/half-year/submissions", {"year": 1403, "half": 1, "office": "rey-1"}, key=other).status,
       403, "a key of another office may not submit")
    eq(c.get(f"/v1/reports/half-year/submissions/{doc['id']}", key=other).status, 404, "nor read it")
    eq(c.get(f"/v1/reports/half-year/submissions/{doc['id']}", key=province).raw, first, "a province key may")
    # a counselling session recorded late for 1403/1 moves the report, not the submission
    counselled = set(doc["records"]["people_counselled"])
    newcomer = next(e["data"]["id"] for e in c.events_since("registry")
                    if e["type"] == "registry.person.registered" and e["data"]["id"] not in counselled
                    and e["data"]["office"] == "rey-1")
    _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-05", "office": "rey-1",
                                  "person_ids": [newcomer]}), "late counselling")
    _wait_current(c, _heads(c, ["registry"]))
    diff = _ok(c.get(f"/v1/reports/half-year/submissions/{doc['id']}/diff"), "diff")
    moved = diff["changed"]["people_counselled"]
    eq((moved["submitted"] + 1, moved["added"], moved["removed"]), (moved["now"], [newcomer], []), "diff")
    eq(c.get(f"/v1/reports/half-year/submissions/{doc['id']}").raw, first, "unchanged by the correction")
    c.kill("reporting", signal.SIGTERM)
    c.start_proc("reporting")
    c.wait_serving("reporting")
    eq(c.get(f"/v1/reports/half-year/submissions/{doc['id']}").raw, first, "unchanged by a restart")


# ---- tests -------------------------------------------------------------------------------------------
def test_figures_equal_brute_force_and_loans_portfolio():
    rnd = random.Random(1403)
    # enrolments start across the whole programme, not only near the clock's month
    with Cluster(ALL, clock="2024-04-01", env={"HY_INSURANCE_BACKDATE_MONTHS": "120",
                                               "HY_INSURANCE_AHEAD_MONTHS": "120"}) as c:
        _programme(c, rnd)
        heads = _heads(c, SOURCES)
        check(all(heads[s] > 0 for s in SOURCES), f"every service wrote events: {heads}")
        _wait_current(c, heads)
        events = {s: c.events_since(s) for s in SOURCES}
        brute = Brute(events)
        prov = c.province_key()   # the whole province: an office key reads its own office
        # the calendar: 1402 ends on 29 Esfand (not leap), 1403's first half on 31 Shahrivar
        h = c.get("/v1/reports/half-year?year=1402&half=2", key=prov).json
        eq((h["from"], h["to"]), ("2023-09-23", "2024-03-19"), "1402/2 bounds")
        h = c.get("/v1/reports/half-year?year=1403&half=1", key=prov).json
        eq((h["from"], h["to"]), ("2024-03-20", "2024-09-21"), "1403/1 bounds")
        h = c.get("/v1/reports/half-year?year=1403&half=2", key=prov).json
        eq((h["from"], h["to"]), ("2024-09-22", "2025-03-20"), "1403/2 bounds (30 Esfand, leap)")
        checked_par = 0
        for q in range(30):
            if q % 3 == 0:
                y, half = rnd.choice([(1402, 1), (1402, 2), (1403, 1), (1403, 2)])
                hy = c.get(f"/v1/reports/half-year?year={y}&half={half}", key=prov).json
                frm, to, exact = _day(hy["from"]), _day(hy["to"]), True
            else:
                frm = _day("2023-03-01") + datetime.timedelta(days=rnd.randrange(0, 700))
                to, exact = frm + datetime.timedelta(days=rnd.randrange(0, 300)), False
            group = [None, "office", "neighbourhood", "field", "sex", "network"][q % 6]
            url = f"/v1/reports/indicators?from={frm}&to={to}" + (f"&group_by={group}" if group else "")
            r = _ok(c.get(url, key=prov), url)
            _compare(r["total"], brute.figures(frm, to, exact), url)
            if group:
                listed = set()
                for g in r["groups"]:
                    key = g["key"] if group in ("field", "sex") else _norm(g["key"])
                    if group == "network" and g["key"]:
                        key = int(g["key"].split("_")[-1])
                    listed.add(key)
                    _compare(g["indicators"], brute.figures(frm, to, exact, group, key), f"{url} {key}")
                for v in brute.values(group):
                    check(v in listed or not brute.figures(frm, to, exact, group, v)["_any"],
                          f"{url}: group {v!r} missing from {sorted(map(str, listed))}")
            # loans: the loans service's own portfolio as of the period's end
            port = _ok(c.get(f"/v1/loans/portfolio?as_of={to}", key="province_auditor"), "portfolio")
            tot = port.get("total", port)
            eq((r["total"]["loans_outstanding_rials"], r["total"]["par30_rials"], r["total"]["par30_bp"]),
               (tot["outstanding_principal_rials"], tot["par30_rials"], tot["par30_bp"]), f"loans as of {to}")
            checked_par += tot["par30_rials"] > 0
        check(checked_par > 0, "some period had loans at risk")
        # jobs count people, and records beside them; the programme has both kinds of duplicates
        everything = _ok(c.get("/v1/reports/indicators?from=2023-01-01&to=2025-12-31"), "all")["total"]
        check(0 < everything["jobs_created"] < everything["job_records"], f"jobs: {everything}")
        ins = brute.figures(_day("2023-01-01"), _day("2025-12-31"), False)
        check(0 < ins["insured_at_end"] < ins["insurance_confirmed"], f"insured at end: {ins}")
        # a person's timeline: every event about her from every service, in date order
        pid = next(e["data"]["id"] for e in events["registry"] if e["type"] == "registry.person.registered")
        want = _timeline_expected(events, pid)
        check({s for _, s, _ in want} == set(SOURCES), f"{pid} is touched by every service: {want}")
        tl = _ok(c.get(f"/v1/persons/{pid}/timeline"), "timeline")
        eq([(e["date"], e["source"], e["sequence"]) for e in tl["events"]], want, "timeline")
        province = c.make_key("auditor", office="*")
        other = c.make_key("social_services", office="rey-2")
        time.sleep(1.2)
        eq(_ok(c.get(f"/v1/persons/{pid}/timeline", key=province), "province")["events"], tl["events"],
           "a province key sees her")
        r = c.get(f"/v1/persons/{pid}/timeline", key=other)
        eq((r.status, r.json["code"]), (404, "not_found"), "another office's key does not")
        eq(c.get("/v1/persons/prs_999999/timeline").status, 404, "an unknown person")
        for q in range(12):
            y, half = rnd.choice([(1402, 2), (1403, 1), (1403, 2)])
            office, hood = rnd.choice([None, "rey-1", "REY-2"]), rnd.choice([None] + [x[q % 2] for x in HOODS])
            q = {"year": y, "half": half, "office": office, "neighbourhood": hood}
            url = "/v1/reports/half-year?" + urllib.parse.urlencode({k: v for k, v in q.items() if v})
            r = _ok(c.get(url, key=c.province_key()), url)
            kind, value = (("pair", (_norm(office), _norm(hood))) if office and hood else
                           ("office", _norm(office)) if office else ("neighbourhood", _norm(hood)) if hood else
                           (None, None))
            # a half in progress (1403/2 on 2025-01-15) is cut at today and says so
            eq(r["interim"], (y, half) == (1403, 2), f"interim {url}")
            eq(r["cut"], "2025-01-15" if r["interim"] else r["to"], f"cut {url}")
            want = brute.figures(_day(r["from"]), _day(r["cut"]), True, kind, value)
            _compare(r["indicators"], want, url)
            if not office and not hood:   # stocks as of the cut: the loans service's own figures
                port = _ok(c.get(f"/v1/loans/portfolio?as_of={r['cut']}", key="province_auditor"), "portfolio")
                tot = port.get("total", port)
                eq((r["indicators"]["loans_outstanding_rials"], r["indicators"]["par30_bp"]),
                   (tot["outstanding_principal_rials"], tot["par30_bp"]), f"loans as of the cut {url}")
            csv = c.get(url, key=c.province_key(), headers={"Accept": "text/csv"})
            eq(csv.headers.get("Content-Type"), "text/csv; charset=utf-8", "csv type")
            lines = csv.raw.decode("utf-8").split("\r\n")
            rows = [line.split(",") for line in lines[lines.index("indicator,label_fa,value") + 1:] if line]
            eq({row[0]: int(row[-1]) for row in rows}, r["indicators"], f"csv {url}")
        for s in SOURCES:
            eq(r["as_of"][s]["seq"], heads[s], f"as_of {s}")
            eq(r["as_of"][s]["time"], events[s][-1]["time"], f"as_of time {s}")
        _check_submission(c, brute, province, other)   # last: it records a late activity


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("headless Chromium is not installed (tools/install-deps.sh: chromium)")


_PAGE_PROBE = """<script>
window.addEventListener('load', function () {
  var t = document.body.innerText, d = document.documentElement;
  var r = document.createElement('div');
  r.id = 'probe';
  r.setAttribute('data-overflow', String(d.scrollWidth - d.clientWidth));
  r.setAttribute('data-ascii-digits', (t.match(/[0-9]/g) || []).join(''));
  r.setAttribute('data-latin', (t.match(/[A-Za-z][A-Za-z0-9_-]*/g) || []).join(' '));
  r.setAttribute('data-direction', getComputedStyle(document.body).direction);
  r.setAttribute('data-font', getComputedStyle(document.body).fontFamily);
  document.body.appendChild(r);
});
</script>"""


def test_html_page_in_chromium():
    """The printable page in headless Chromium at A4 width: right to left, nothing wider than
    the page, Persian digits only, no Latin text (office codes included), whole toman, rounded
    percentages, the previous half and the office's targets beside each figure, sections, a
    signature block, an interim banner and one Persian sentence on freshness; the CSV says what
    it is and carries a Persian file name. The screenshot is kept for a person to look at."""
    browser = _chromium()
    with Cluster(["registry", "loans", "reporting"], clock="2024-08-01") as c:
        c.keys["checker"] = c.make_key("social_services", key_id="checker")  # approves loans
        time.sleep(1.2)   # the gateway rereads its keys file at most once a second
        ids = [_ok(c.post("/v1/persons", person(7000 + i, neighbourhood=HOODS[i % 2][0],
                                               sex=["female", "male"][i % 2])), "person")["id"]
               for i in range(6)]
        for i, day in enumerate(["2024-02-01", "2024-04-01", "2024-05-01", "2024-06-01", "2024-07-01"]):
            _ok(c.post("/v1/activities", {"kind": "meeting", "meeting_kind": MEETINGS[i % 3], "date": day}), "m")
            _ok(c.post("/v1/activities", {"kind": "counselling", "date": day, "person_ids": ids[i:i + 3]}), "c")
        b = _ok(c.post("/v1/businesses", {"owner_id": ids[0], "activity": "خیاطی", "field": "handicrafts",
                                          "stage": "developing"}), "business")
        p = _ok(c.post("/v1/loan-products", {"name": "اشتغال", "kind": "individual", "cap_rials": 500000000,
                                             "fee_rate_bp": 0, "term_months": 12, "min_stage": "developing",
                                             "fiscal_year": 1403}), "product")
        lo = _ok(c.post("/v1/loans", {"person_id": ids[0], "business_id": b["id"], "product_id": p["id"],
                                      "amount_rials": 123456785}), "loan")
        _ok(c.post(f"/v1/loans/{lo['id']}/appraise", {"appraiser": "x", "recommended_amount_rials": 123456785}), "a")
        _ok(c.post(f"/v1/loans/{lo['id']}/approve", {}, key=c.keys["checker"]), "approve")  # maker-checker
        _ok(c.post(f"/v1/loans/{lo['id']}/disburse", {"amount_rials": 123456785, "date": "2024-08-01"}), "d")
        targets = {"people_counselled": 12, "loans_disbursed_rials": 200000000}
        r = c.request("PUT", "/v1/offices/rey-1/targets", {"year": "۱۴۰۳", "half": 1, "targets": targets})
        eq((r.status, r.json.get("targets")), (200, targets), f"targets: {r!r}")
        other = c.make_key("social_services", office="rey-2")
        time.sleep(1.2)
        eq(c.request("PUT", "/v1/offices/rey-1/targets", {"year": 1403, "half": 1, "targets": {}}, key=other).status,
           403, "another office's key may not set rey-1's targets")
        _wait_current(c, _heads(c, ["registry", "loans"]))
        url = "/v1/reports/half-year?year=1403&half=1"
        report = _ok(c.get(url, key="auditor"), "json")
        eq((report["interim"], report["cut"]), (True, "2024-08-01"), "1403/1 on 2024-08-01 is interim")
        eq(_ok(c.get(url + "&office=rey-1"), "office json")["targets"], targets, "the targets in the JSON")
        html = c.get(url, key="auditor", headers={"Accept": "text/html"})
        eq(html.headers.get("Content-Type"), "text/html; charset=utf-8", "html type")
        tmp = tempfile.mkdtemp(prefix="hamyar-report-page-")   # kept: the screenshot is an artifact
        page = os.path.join(tmp, "report.html")
        with open(page, "wb") as f:
            f.write(html.raw.replace(b"</body>", _PAGE_PROBE.encode() + b"</body>"))
        base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={os.path.join(tmp, 'profile')}", "--window-size=794,1123"]   # A4 at 96 dpi
        dom = subprocess.run(base + ["--virtual-time-budget=3000", "--dump-dom", "file://" + page],
                             capture_output=True, text=True, timeout=90).stdout
        probe = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', re.search(r'<div id="probe"[^>]*>', dom).group(0)))
        eq(probe["direction"], "rtl", "right to left")
        eq(probe["overflow"], "0", "nothing wider than an A4 page")
        eq(probe["ascii-digits"], "", "Persian digits only in the text")
        eq(probe["latin"], "", "no Latin text (no office codes)")
        check(probe["font"].startswith("Vazirmatn, Nazli"), f"a Persian font stack: {probe['font']}")
        cells = dict(re.findall(r'data-indicator="([a-z0-9_]+)" data-value="(-?[0-9]*)"', dom))
        eq(set(cells), set(report["indicators"]), "every indicator on the page")
        for name, value in report["indicators"].items():
            eq(cells[name], "" if value is None else str(value), f"page {name}")
        check(report["indicators"]["loans_disbursed_rials"] == 123456785, "the loan is in the report")
        check("۱۲٬۳۴۵٬۶۷۹ تومان" in dom and "٫" not in dom, "whole toman, rounded, Persian digits")
        check("۱۴۰۳/۰۱/۰۱" in dom and "۱۴۰۳/۰۶/۳۱" in dom and "۱۴۰۳/۰۵/۱۱" in dom, "Jalali dates")
        check('class="banner" data-interim="true"' in dom, "the interim banner")
        check(re.search(r'<p class="fresh">[^<.]*ساعت[^<.]*رسیده است\.</p>', dom), "one freshness sentence")
        prev = dict(re.findall(r'data-previous="([a-z0-9_]+)">([^<]*)<', dom))
        eq(prev["meetings_working_group"], "۱", "the previous half (1402/2) beside the figure")
        for sec in ("neighbourhood", "field", "sex"):
            check(f'data-section="{sec}"' in dom, f"a section by {sec}")
        check("شهرری" in dom and "صنایع دستی" in dom and "زن" in dom, "sections in Persian")
        check('class="sign"' in dom and "تهیه‌کننده" in dom and "تأییدکننده" in dom, "a signature block")
        check(dom.count("<svg") == 3, "three charts")
        office = c.get(url + "&office=rey-1", headers={"Accept": "text/html"}).raw.decode()
        goal = dict(re.findall(r'data-target="([a-z0-9_]+)">([^<]*)<', office))
        eq((goal["people_counselled"], goal["loans_disbursed_rials"], goal["classes"]),
           ("۱۲", "۲۰٬۰۰۰٬۰۰۰ تومان", "—"), "the office's targets beside its figures")
        check('data-section="neighbourhood"' in office, "an office's page has its neighbourhoods")
        shot = os.path.join(tmp, "report.png")
        subprocess.run(base + ["--screenshot=" + shot, "file://" + page], capture_output=True, timeout=90)
        with open(shot, "rb") as f:
            png = f.read()
        check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, f"a screenshot ({len(png)} bytes)")
        print(f"    screenshot kept: {shot}")
        csv = c.get(url + "&office=rey-1", headers={"Accept": "text/csv"})
        text = csv.raw.decode("utf-8")
        check(text.startswith("\ufeffperiod,1403/1,2024-03-20..2024-09-21\r\noffice,rey-1,دفتر تسهیل‌گری شهرری ۱\r\n"
                              "status,interim,cut 2024-08-01\r\nas_of,"), f"the CSV says what it is: {text[:200]!r}")
        cd = csv.headers.get("Content-Disposition", "")
        check(cd.startswith('attachment; filename="hamyar-report-1403-1-rey-1.csv"; filename*=UTF-8\'\''), cd)
        name = urllib.parse.unquote(cd.split("filename*=UTF-8''")[1])
        eq(name, "گزارش-شش‌ماهه-۱۴۰۳-نیمه-اول-دفتر تسهیل‌گری شهرری ۱-موقت.csv", "the Persian file name")


def _load(c, persons, sessions, participants, base=9000, threads=12):
    """Registrations, then counselling sessions with many participants each (concurrently, as
    offices record them): a feed that takes a new replica several pages to apply."""
    ids = [_ok(c.post("/v1/persons", person(base + i, neighbourhood=HOODS[i % 3][i % 2])), "person")["id"]
           for i in range(persons)]
    errors = []

    def work(w):
        rnd = random.Random(w)
        for s in range(w, sessions, threads):
            day = _day("2023-04-01") + datetime.timedelta(days=rnd.randrange(0, 600))
            r = c.post("/v1/activities", {"kind": "counselling", "date": day.isoformat(),
                                          "person_ids": rnd.sample(ids, participants)})
            if r.status != 201:
                errors.append(r)

    ts = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, f"sessions refused: {errors[:2]}")
    return ids


def _answers(c, pids, urls, timeout=10):
    """The answers of every replica in pids to every url (round robin spreads the requests)."""
    got, deadline = {}, time.time() + timeout
    for url in urls:
        while time.time() < deadline and not all((pid, url) in got for pid in pids):
            r = c.get(url)
            check(r.status == 200, f"{url}: {r!r}")
            got[(r.json["replica"]["pid"], url)] = {k: v for k, v in r.json.items()
                                                     if k not in ("replica", "generated_at")}
    check(all((pid, url) in got for pid in pids for url in urls), f"not every replica answered: {sorted(got)}")
    return got


def test_replicas_behind_gateway():
    """Two replicas answer in turn; one killed is no longer sent requests; one added while the
    system runs serves only once caught up, with the same figures."""
    with Cluster(["registry", "reporting"], clock="2025-01-15") as c:
        _load(c, 60, 20, 20)
        data2 = os.path.join(c.dir, "reporting-2")
        c.start_proc("reporting", ["--data", data2, "--pub", "none"], tag="reporting-2")
        heads = _heads(c, ["registry"])
        pids = {c.procs["reporting"].pid, c.procs["reporting-2"].pid}
        _wait_current(c, heads, pids=pids)
        urls = ["/v1/reports/half-year?year=1402&half=1", "/v1/reports/indicators?from=2023-01-01&to=2025-01-15"
                "&group_by=neighbourhood"]
        got = _answers(c, pids, urls)
        for url in urls:
            eq(got[(c.procs["reporting"].pid, url)], got[(c.procs["reporting-2"].pid, url)], f"same figures {url}")
        c.kill("reporting")
        time.sleep(3.5)
        survivor = c.procs["reporting-2"].pid
        for _ in range(20):
            r = c.get(urls[0])
            eq(r.status, 200, "served after a replica died")
            eq(r.json["replica"]["pid"], survivor, "only the live replica answers")
        # a third replica joins while the system runs: it serves only once caught up
        _load(c, 5, 3, 3, base=20000)
        heads = _heads(c, ["registry"])
        c.start_proc("reporting", ["--data", os.path.join(c.dir, "reporting-3"), "--pub", "none"], tag="reporting-3")
        new = c.procs["reporting-3"].pid
        deadline, seen_new = time.time() + 15, False
        while time.time() < deadline and not seen_new:
            r = c.get(urls[0])
            eq(r.status, 200, "served while a replica joins")
            if r.json["replica"]["pid"] == new:
                seen_new = True
                check(r.json["as_of"]["registry"]["seq"] >= heads["registry"],
                      f"the new replica served before catching up: {r.json['as_of']}")
        check(seen_new, "the new replica never served")
        got = _answers(c, {survivor, new}, urls)
        for url in urls:
            eq(got[(survivor, url)], got[(new, url)], f"new replica's figures {url}")


def _cursor(data_dir, source="registry"):
    """The cursor a stopped replica has stored for a source (mdb_dump of _cursors)."""
    out = subprocess.run(["mdb_dump", "-s", "_cursors", data_dir], capture_output=True, text=True).stdout
    lines = [line.strip() for line in out.split("HEADER=END", 1)[-1].splitlines() if line.strip()]
    want = ("src:" + source).encode().hex()
    for k, v in zip(lines[0::2], lines[1::2]):
        if k == want:
            return int(v, 16)
    return 0


def _same_figures(c, heads, what):
    """Waits for "reporting" and "reporting-2" to reach heads and checks that they answer the
    same (non-trivial) figures; returns the urls asked and the answers."""
    pids = {c.procs["reporting"].pid, c.procs["reporting-2"].pid}
    _wait_current(c, heads, pids=pids)
    urls = ["/v1/reports/half-year?year=1402&half=1", "/v1/reports/half-year?year=1403&half=1",
            "/v1/reports/indicators?from=2023-03-21&to=2024-12-31&group_by=neighbourhood"]
    got = _answers(c, pids, urls)
    for url in urls:
        eq(got[(c.procs["reporting"].pid, url)], got[(c.procs["reporting-2"].pid, url)],
           f"same figures {what}: {url}")
    check(got[(c.procs["reporting"].pid, urls[0])]["indicators"]["people_counselled"] > 0, "non-trivial")
    return urls, got


def test_kill9_during_catch_up_then_rebuild():
    """A replica killed -9 in the middle of catching up restarts from its cursor and ends with
    the same figures as a replica that never stopped; --rebuild replays from zero to the same."""
    with Cluster(["registry", "reporting"], clock="2025-01-15") as c:
        _load(c, 300, 1500, 30)
        heads = _heads(c, ["registry"])
        _wait_current(c, heads)
        data2 = os.path.join(c.dir, "reporting-2")
        c.start_proc("reporting", ["--data", data2, "--pub", "none"], tag="reporting-2")
        deadline, cur = time.time() + 60, 0
        while time.time() < deadline and not 0 < cur < heads["registry"]:
            time.sleep(0.01)
            cur = _cursor(data2) if os.path.exists(os.path.join(data2, "data.mdb")) else 0
        c.kill("reporting-2")   # SIGKILL, a page or more into its catch-up
        killed_at = _cursor(data2)
        check(0 < killed_at < heads["registry"],
              f"killed in the middle of the catch-up: cursor {killed_at} of {heads['registry']}")
        c.start_proc("reporting", ["--data", data2, "--pub", "none"], tag="reporting-2")
        urls, got = _same_figures(c, heads, f"after kill -9 at {killed_at}/{heads['registry']}")
        c.kill("reporting-2", signal.SIGTERM)
        c.start_proc("reporting", ["--data", data2, "--pub", "none", "--rebuild"], tag="reporting-2")
        pids = {c.procs["reporting"].pid, c.procs["reporting-2"].pid}
        _wait_current(c, heads, pids=pids)
        got2 = _answers(c, pids, urls)
        for url in urls:
            eq(got2[(c.procs["reporting-2"].pid, url)], got[(c.procs["reporting"].pid, url)], f"after --rebuild {url}")


def test_kill9_mid_catch_up_batch_keeps_nothing_of_it():
    """A replica catching up in batches (several pages of one source in one write transaction,
    HY_BATCH_MIN_EVENTS=1 so that this small programme is batched) dies (SIGKILL, test hook) in
    the middle of the second page of a batch: nothing of the batch was committed; restarted, it
    ends with exactly the figures of a replica that never stopped."""
    with Cluster(["registry", "reporting"], clock="2025-01-15") as c:
        _load(c, 300, 1500, 30)
        heads = _heads(c, ["registry"])
        _wait_current(c, heads)
        check(heads["registry"] > 1000, f"more than one page of events: {heads}")
        data2 = os.path.join(c.dir, "reporting-2")
        marker = os.path.join(c.dir, "killed-mid-batch")
        c.env["HY_BATCH_MIN_EVENTS"] = "1"
        c.env["HY_TEST_KILL_MID_BATCH"] = marker
        p = c.start_proc("reporting", ["--data", data2, "--pub", "none"], tag="reporting-2")
        del c.env["HY_TEST_KILL_MID_BATCH"]
        try:
            code = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        eq(code, -9, "the replica killed itself in the second page of its first batch:")
        check(os.path.exists(marker), "the hook ran")
        eq(_cursor(data2), 0, "nothing of the batch was committed:")
        c.start_proc("reporting", ["--data", data2, "--pub", "none"], tag="reporting-2")
        del c.env["HY_BATCH_MIN_EVENTS"]
        _same_figures(c, heads, "after a kill in the middle of a batch")


def test_unknown_filters_422_and_persian_year():
    """A misspelt office or neighbourhood is a 422 naming the filter, not an all-zero report;
    the year may be written in Persian digits."""
    with Cluster(["registry", "reporting"], clock="2024-08-01") as c:
        _ok(c.post("/v1/persons", person(8100, neighbourhood="شهرری")), "person")
        _wait_current(c, _heads(c, ["registry"]))
        prov = c.province_key()
        r = c.get("/v1/reports/half-year?year=1403&half=1&office=rey-9", key=prov)
        eq((r.status, r.json["code"], r.json.get("field")),
           (422, "unknown_office", "office"), f"unknown office: {r!r}")
        r = c.get("/v1/reports/indicators?from=2024-03-20&to=2024-08-01&office=rey-9", key=prov)
        eq((r.status, r.json["code"]), (422, "unknown_office"), f"indicators, unknown office: {r!r}")
        # An office key's reports are its office's: another office is 403, none means its own.
        for path in ("/v1/reports/half-year?year=1403&half=1&office=rey-2",
                     "/v1/reports/indicators?from=2024-03-20&to=2024-08-01&office=rey-2"):
            r = c.get(path)
            eq((r.status, r.json["code"]), (403, "other_office"), f"{path} with a rey-1 key: {r!r}")
        own = _ok(c.get("/v1/reports/half-year?year=1403&half=1"), "the key's own office")
        eq(own["indicators"], _ok(c.get("/v1/reports/half-year?year=1403&half=1&office=rey-1",
                                        key=prov), "rey-1 by the province")["indicators"],
           "an office key without ?office= reads its own office:")
        two = c.make_key("social_services", office="rey-2")
        time.sleep(1.2)
        empty = _ok(c.get("/v1/reports/indicators?from=2024-03-20&to=2024-08-01&group_by=neighbourhood",
                          key=two), "rey-2's indicators")
        eq((empty["total"]["beneficiaries_new"], empty["groups"]), (0, []),
           "rey-2 sees none of rey-1's people, in its total or its groups:")
        mine = _ok(c.get("/v1/reports/indicators?from=2024-03-20&to=2024-08-01&group_by=neighbourhood"),
                   "rey-1's indicators")
        eq(mine["total"]["beneficiaries_new"], 1, "rey-1 sees its person")
        eq([g["indicators"]["beneficiaries_new"] for g in mine["groups"]], [1], "in her neighbourhood")
        by_office = _ok(c.get("/v1/reports/indicators?from=2024-03-20&to=2024-08-01&group_by=office"),
                        "rey-1's indicators by office")
        eq([(g["key"], g["indicators"]["beneficiaries_new"]) for g in by_office["groups"]],
           [("rey-1", 1)], "by office, an office key's table has its own office alone:")
        r = c.get("/v1/reports/half-year?" + urllib.parse.urlencode(
            {"year": "1403", "half": "1", "neighbourhood": "ناکجاآباد"}))
        eq((r.status, r.json["code"], r.json.get("field")),
           (422, "unknown_neighbourhood", "neighbourhood"), f"unknown neighbourhood: {r!r}")
        persian = _ok(c.get("/v1/reports/half-year?" + urllib.parse.urlencode(
            {"year": "۱۴۰۳", "half": "1", "office": "REY-1", "neighbourhood": "شهرري"})), "Persian year")
        ascii_ = _ok(c.get("/v1/reports/half-year?year=1403&half=1&office=rey-1&neighbourhood=%D8%B4%D9%87%D8%B1%D8%B1%DB%8C"),
                     "ASCII year")
        eq(persian["indicators"], ascii_["indicators"], "the same report")
        eq(persian["indicators"]["beneficiaries_new"], 1, "the person is counted")
        eq((persian["interim"], persian["cut"]), (True, "2024-08-01"), "1403/1 on 2024-08-01 is interim")
        r = c.get("/v1/reports/half-year?year=14O3&half=1")
        eq((r.status, r.json["code"]), (422, "invalid_year"), f"not a year: {r!r}")
        r = c.get("/v1/reports/half-year?year=1403&half=2")
        eq((r.status, r.json["code"]), (422, "future_period"), f"not started: {r!r}")
