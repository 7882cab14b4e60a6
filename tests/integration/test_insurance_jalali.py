"""Insurance enrolment by the Solar Hijri calendar, through the gateway (issue 17, insurance
items 1-3): contributions by `month_jalali` and arrears in Jalali months, the fund's refusal and
its reading of what was submitted to it, the start-date window, ages by the Jalali calendar and
insurance numbers in any digit script.

The clock is fixed (HY_CLOCK) at 2025-01-15 = 1403/10/26, the issue's own example day.
"""
from harness import Cluster, check, eq, person

TODAY = "2025-01-15"   # 1403/10/26
PAY = {"amount_rials": 1000, "subsidy_rials": 700, "person_rials": 300}


def _who(c, n, **over):
    """Registers person n with a handicrafts business; returns (person_id, business_id)."""
    p = c.post("/v1/persons", person(n, **over))
    eq(p.status, 201, f"person {n}: {p}")
    b = c.post("/v1/businesses", {"owner_id": p.json["id"], "activity": "خیاطی",
                                  "field": "handicrafts"})
    eq(b.status, 201, f"business {n}: {b}")
    return p.json["id"], b.json["id"]


def _enrol(c, who, **start):
    pid, bid = who
    body = {"person_id": pid, "business_id": bid, "field": "handicrafts"}
    body.update(start)
    return c.post("/v1/enrolments", body)


def _to_fund(c, eid):
    eq(c.post(f"/v1/enrolments/{eid}/approve").status, 200)
    eq(c.post(f"/v1/enrolments/{eid}/submit").status, 200)


def _insured(c, who, number, start="1403/10/01"):
    r = _enrol(c, who, start_date_jalali=start)
    eq(r.status, 201, f"enrolment from {start}: {r}")
    eid = r.json["id"]
    _to_fund(c, eid)
    r = c.post(f"/v1/enrolments/{eid}/confirm", {"insurance_number": number}, key="insurance_fund")
    eq(r.status, 200, f"confirm: {r}")
    return eid


def test_contributions_by_jalali_month_and_arrears_in_jalali_months():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        eid = _insured(c, _who(c, 1), "7001")
        r = c.get(f"/v1/enrolments/{eid}")
        eq((r.json["start_date"], r.json["start_date_jalali"]), ("2024-12-21", "1403/10/01"))
        eq(r.json["months_overdue"], 0, "started 1403/10/01, not overdue on 1403/10/26:")
        r = c.post(f"/v1/enrolments/{eid}/contributions", dict(PAY, month_jalali="1403/10"))
        eq(r.status, 201, f"{r}")
        paid = r.json["contributions"][-1]
        eq((paid["month_jalali"], paid["month"]), ("1403/10", "2025-01"),
           "the Jalali month, and the Gregorian month whose first day falls in it:")
        r = c.post(f"/v1/enrolments/{eid}/contributions", dict(PAY, month="2025-01"))
        eq((r.status, r.json["code"]), (409, "duplicate_contribution"),
           "Gregorian 2025-01 is Dey 1403, already paid:")
        r = c.post(f"/v1/enrolments/{eid}/contributions", dict(PAY, month_jalali="۱۴۰۳/۱۱"))
        eq(r.status, 201, f"Persian digits: {r}")
        eq(r.json["contributions"][-1]["month_jalali"], "1403/11")
        r = c.post(f"/v1/enrolments/{eid}/contributions", dict(PAY, month="2025-03"))
        eq(r.status, 201, f"a Gregorian month still accepted: {r}")
        eq(r.json["contributions"][-1]["month_jalali"], "1403/12", "2025-03-01 is in Esfand:")
        for body, code in [(dict(PAY, month_jalali="1403/09"), "invalid_month"),   # before start
                           (dict(PAY, month_jalali="1403/13"), "invalid_month"),
                           (dict(PAY, month_jalali="1405/01"), "invalid_month"),   # > 12 ahead
                           (dict(PAY, month="1403-10"), "invalid_month"),          # not Gregorian
                           (dict(PAY, month="2025-05", month_jalali="1404/01"), "invalid_month"),
                           (dict(PAY), "missing_field")]:
            r = c.post(f"/v1/enrolments/{eid}/contributions", body)
            check(r.status in (400, 422), f"{body}: {r}")
            eq(r.json["code"], code, f"{body}:")
        r = c.post(f"/v1/enrolments/{eid}/contributions", dict(PAY, month="2025-04",
                                                               month_jalali="1404/01"))
        eq(r.status, 201, f"both forms, agreeing: {r}")
        events = [e for e in c.get("/v1/feeds/enrolments?after=0&limit=1000",
                                   key="insurance_fund").json["events"]
                  if e["type"] == "insurance.enrolment.contribution_recorded"]
        eq([e["data"]["contribution"]["month_jalali"] for e in events],
           ["1403/10", "1403/11", "1403/12", "1404/01"], "the fund is told the Jalali months:")
        eq([e["data"]["contribution"]["month"] for e in events],
           ["2025-01", "2025-02", "2025-03", "2025-04"])


def test_arrears_counted_in_jalali_months():
    """Started 1403/07/01 and nothing paid: on 1403/10/26 Mehr, Aban and Azar are overdue (3),
    not the four Gregorian months since September; check-arrears (limit 2) suspends it, and
    once Mehr..Azar are paid it may be reinstated."""
    with Cluster(["registry", "insurance"], clock=TODAY,
                 env={"HY_INSURANCE_SUSPEND_MONTHS": "2"}) as c:
        eid = _insured(c, _who(c, 2), "7002", start="1403/07/01")
        eq(c.get(f"/v1/enrolments/{eid}").json["months_overdue"], 3)
        r = c.post("/v1/enrolments/check-arrears", {}, key="operator")
        eq((r.status, r.json["suspended"]), (200, [eid]), f"{r}")
        r = c.post(f"/v1/enrolments/{eid}/reinstate")
        eq((r.status, r.json["code"], r.json["months_overdue"]), (422, "contributions_overdue", 3))
        eq(c.post(f"/v1/enrolments/{eid}/contributions", dict(PAY, month_jalali="1403/07")).status, 201)
        eq(c.get(f"/v1/enrolments/{eid}").json["months_overdue"], 2)
        r = c.post(f"/v1/enrolments/{eid}/reinstate")
        eq((r.status, r.json.get("status")), (200, "confirmed"), f"{r}")


def test_fund_refuses_and_reads_what_was_submitted_to_it():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        who = _who(c, 3)
        r = _enrol(c, who, start_date="2025-01-01")
        eid = r.json["id"]
        fund = "insurance_fund"
        eq(c.get(f"/v1/enrolments/{eid}", key=fund).status, 403, "not yet submitted to the fund:")
        refuse = {"reason_code": "already_insured", "detail": "insured by the Social Security Organisation"}
        r = c.post(f"/v1/enrolments/{eid}/refuse", refuse, key=fund)
        eq((r.status, r.json["code"]), (409, "wrong_state"), f"refusing a requested one: {r}")
        _to_fund(c, eid)
        r = c.get(f"/v1/enrolments/{eid}", key=fund)
        eq((r.status, r.json.get("status")), (200, "submitted"), f"the fund reads it: {r}")
        check("created_by" not in r.json and all("created_by" not in h for h in r.json["history"]),
              f"not the staff's API keys: {r.json}")
        check("created_by" in c.get(f"/v1/enrolments/{eid}").json, "staff still see them")
        other = _enrol(c, _who(c, 4), start_date="2025-01-01").json["id"]   # not handed over
        r = c.get("/v1/enrolments", key=fund)
        eq((r.status, [e["id"] for e in r.json["items"]]), (200, [eid]), "the fund lists its own:")
        check("created_by" not in r.json["items"][0], "no staff keys in the fund's list")
        eq([e["id"] for e in c.get("/v1/enrolments").json["items"]], [eid, other], "staff list all:")
        eq(c.post(f"/v1/enrolments/{eid}/refuse", refuse).status, 403, "only the fund refuses:")
        r = c.post(f"/v1/enrolments/{eid}/refuse", {"reason_code": "no_such_reason"}, key=fund)
        check(r.status in (400, 422), f"unknown reason code: {r}")
        r = c.post(f"/v1/enrolments/{eid}/refuse", refuse, key=fund)
        eq(r.status, 200, f"{r}")
        eq(r.json["status"], "refused")
        eq(r.json["refusal"]["reason_code"], "already_insured")
        eq(r.json["refusal"]["detail"], refuse["detail"])
        eq(r.json["history"][-1]["status"], "refused")
        r = c.post(f"/v1/enrolments/{eid}/refuse", refuse, key=fund)
        eq((r.status, r.json["status"]), (200, "refused"), "the same refusal again changes nothing:")
        r = c.post(f"/v1/enrolments/{eid}/refuse", {"reason_code": "documents_incomplete"}, key=fund)
        eq((r.status, r.json["code"]), (409, "wrong_state"), "another reason:")
        r = c.post(f"/v1/enrolments/{eid}/confirm", {"insurance_number": "9"}, key=fund)
        eq((r.status, r.json["code"]), (409, "wrong_state"), "refused is final:")
        eq(c.get(f"/v1/enrolments/{eid}", key=fund).json["status"], "refused")
        eq(c.get(f"/v1/enrolments?status=refused").json["items"][0]["id"], eid)
        events = c.get("/v1/feeds/enrolments?after=0", key=fund).json["events"]
        refused = [e for e in events if e["type"] == "insurance.enrolment.refused"]
        eq(len(refused), 1, "one refusal event:")
        eq(refused[0]["data"]["refusal"], {"reason_code": "already_insured", "detail": refuse["detail"]})
        eq(refused[0]["data"]["status"], "refused")
        r = _enrol(c, who, start_date="2025-01-01")
        eq(r.status, 201, f"once refused, the person may be enrolled again: {r}")


def test_start_date_window():
    """Request month 1403/10: from 1403/07/01 (three months back) to 1404/01/26 (three months
    ahead of 1403/10/26); HY_INSURANCE_BACKDATE_MONTHS narrows the back window."""
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        for n, (start, status) in enumerate([("1403/06/31", 422), ("1404/01/27", 422),
                                             ("1403/07/01", 201), ("1404/01/26", 201)]):
            r = _enrol(c, _who(c, 10 + n), start_date_jalali=start)
            eq(r.status, status, f"start {start}: {r}")
            if status == 422:
                eq((r.json["code"], r.json["field"]), ("start_date_out_of_range", "start_date"))
    with Cluster(["registry", "insurance"], clock=TODAY,
                 env={"HY_INSURANCE_BACKDATE_MONTHS": "1"}) as c:
        eq(_enrol(c, _who(c, 20), start_date_jalali="1403/08/30").status, 422)
        eq(_enrol(c, _who(c, 21), start_date_jalali="1403/09/01").status, 201)


def test_age_by_jalali_calendar_and_insurance_numbers_in_any_script():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        born = _who(c, 30, birth_date="1974-01-16")   # 1352/10/26
        r = _enrol(c, born, start_date_jalali="1403/10/26")
        eq((r.status, r.json.get("code")), (422, "age_out_of_range"),
           f"51 on 1403/10/26 by the Solar Hijri calendar: {r}")
        r = _enrol(c, born, start_date_jalali="1403/10/25")
        eq(r.status, 201, f"{r}")
        eq(r.json["age_at_start"], 50)
        a = _insured(c, _who(c, 31), "۱۲۳۴۵۶")
        eq(c.get(f"/v1/enrolments/{a}").json["insurance_number"], "123456", "stored in ASCII:")
        r = c.post(f"/v1/enrolments/{a}/confirm", {"insurance_number": "123456"}, key="insurance_fund")
        eq((r.status, r.json["status"]), (200, "confirmed"), "the same number in ASCII: idempotent")
        r = _enrol(c, _who(c, 32), start_date_jalali="1403/10/01")
        b = r.json["id"]
        _to_fund(c, b)
        for number in ("١٢٣٤٥٦", "123456", " ۱۲۳۴۵۶ "):
            r = c.post(f"/v1/enrolments/{b}/confirm", {"insurance_number": number}, key="insurance_fund")
            eq((r.status, r.json["code"], r.json["existing_id"]), (409, "duplicate_insurance_number", a),
               f"{number!r}:")
