"""Reporting, issue #16 remainder: figures follow the registry's records (rule 1: corrections,
transfers, status changes, merges, corrected and voided activities), referrals broken down by
agency, the office page's every breakdown, and submissions visible from every replica.

Every expected figure is written out by hand from the scenario below (not computed by the
service's code)."""
import os
import urllib.parse

from harness import Cluster, check, eq, person
from test_reporting import _heads, _ok, _wait_current

H0 = "شهرری"


def _report(c, year, half, office=None, sections=False):
    q = {"year": year, "half": half}
    if sections:
        q["sections"] = "true"
    if office:
        q["office"] = office
    return _ok(c.get("/v1/reports/half-year?" + urllib.parse.urlencode(q), key=c.province_key()),
               f"report {q}")


def _province(c):
    return c.province_key()


def _people(c, key, n0, specs):
    """Registers persons from (registered_on, overrides) specs; returns their ids."""
    out = []
    for i, (day, over) in enumerate(specs):
        body = person(n0 + i, **{"office": "rey-1", "neighbourhood": H0, "registered_on": day, **over})
        out.append(_ok(c.post("/v1/persons", body, key=key), "person")["id"])
    return out


def _section(report, kind, key):
    for g in report["sections"].get(kind, []):
        if g["key"] == key:
            return g["indicators"]
    return None


def test_rule1_records_move_the_figures():
    """Every registry event of the contract moves the figures by the date it took effect: a
    corrected sex, a corrected registration date, a transfer, an exit, a merge, a voided and a
    corrected activity."""
    with Cluster(["registry", "reporting"], clock="2024-10-15") as c:
        k = _province(c)
        a, b, cc, d, e, f, g = _people(c, k, 7100, [
            ("2024-04-01", {}),                                   # A: sex corrected to male
            ("2024-04-02", {}),                                   # B: transferred to rey-2 on 10-01
            ("2024-04-03", {}),                                   # C: exits on 06-01
            ("2024-04-04", {}),                                   # D: merged into E
            ("2024-04-05", {}),                                   # E
            ("2024-10-05", {}),                                   # F: registration date corrected
            ("2024-04-06", {"sex": "male", "head_of_household": False}),   # G: control
        ])
        for pid, day in ((d, "2024-05-10"), (e, "2024-05-11")):
            _ok(c.post("/v1/activities", {"kind": "counselling", "date": day, "office": "rey-1",
                                          "person_ids": [pid]}, key=k), "counselling")
        voided = _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-12", "office": "rey-1",
                                               "person_ids": [a, g]}, key=k), "counselling")["id"]
        moved = _ok(c.post("/v1/activities", {"kind": "training_class", "date": "2024-05-02", "office": "rey-1",
                                              "title": "خیاطی", "person_ids": [g]}, key=k), "class")["id"]
        _wait_current(c, _heads(c, ["registry"]))
        before = _report(c, 1403, 1, "rey-1")["indicators"]
        eq((before["beneficiaries_new"], before["women_heads_of_household"], before["people_counselled"],
            before["classes"]), (6, 5, 4, 1), "1403/1 before the changes")

        _ok(c.patch(f"/v1/persons/{a}", {"sex": "male"}, key=k), "correct sex")
        _ok(c.patch(f"/v1/persons/{f}", {"registered_on": "2024-05-05"}, key=k), "correct registration date")
        _ok(c.post(f"/v1/persons/{b}/transfer", {"office": "rey-2", "date": "2024-10-01"}, key=k), "transfer")
        _ok(c.post(f"/v1/persons/{cc}/status", {"status": "exited", "reason": "اشتغال", "date": "2024-06-01"},
                   key=k), "exit")
        _ok(c.post(f"/v1/persons/{d}/merge", {"into": e}, key=k), "merge")
        _ok(c.post(f"/v1/activities/{voided}/void", {"reason": "ثبت اشتباه"}, key=k), "void")
        _ok(c.patch(f"/v1/activities/{moved}", {"date": "2024-10-02", "reason": "تاریخ اشتباه"}, key=k),
            "correct activity date")
        _wait_current(c, _heads(c, ["registry"]))

        # 1403/1 (2024-03-20..2024-09-21), rey-1: A B C E F G registered (D retired), F moved in
        # from half 2; women heads B C E F (A is a man, G not head); active: C exited on 06-01;
        # counselled: E once (D's day is hers), the voided session counts nobody; no class.
        h1 = _report(c, 1403, 1, "rey-1")["indicators"]
        eq({n: h1[n] for n in ("beneficiaries_total", "beneficiaries_new", "women_heads_of_household",
                               "beneficiaries_active", "people_counselled", "classes")},
           {"beneficiaries_total": 6, "beneficiaries_new": 6, "women_heads_of_household": 4,
            "beneficiaries_active": 5, "people_counselled": 1, "classes": 0}, "rey-1 1403/1")
        # 1403/2 (interim, cut 2024-10-15), rey-1: B left on 10-01; the class moved here.
        h2 = _report(c, 1403, 2, "rey-1")["indicators"]
        eq({n: h2[n] for n in ("beneficiaries_total", "beneficiaries_new", "women_heads_of_household",
                               "beneficiaries_active", "classes")},
           {"beneficiaries_total": 5, "beneficiaries_new": 0, "women_heads_of_household": 3,
            "beneficiaries_active": 4, "classes": 1}, "rey-1 1403/2")
        r2 = _report(c, 1403, 2, "rey-2")["indicators"]
        eq({n: r2[n] for n in ("beneficiaries_total", "beneficiaries_new", "women_heads_of_household",
                               "beneficiaries_active")},
           {"beneficiaries_total": 1, "beneficiaries_new": 0, "women_heads_of_household": 1,
            "beneficiaries_active": 1}, "rey-2 1403/2 (B from 10-01)")
        eq(_report(c, 1403, 1, "rey-2")["indicators"]["beneficiaries_total"], 0, "rey-2 1403/1")
        # the whole province by sex, 1403/1: men A and G, women B C E F
        allr = _report(c, 1403, 1, sections=True)
        eq(_section(allr, "sex", "male")["beneficiaries_total"], 2, "men")
        eq(_section(allr, "sex", "female")["beneficiaries_total"], 4, "women")
        # a deceased person leaves the active stock on her date, and a return puts her back
        _ok(c.post(f"/v1/persons/{g}/status", {"status": "deceased", "date": "2024-10-03"}, key=k), "deceased")
        _ok(c.post(f"/v1/persons/{cc}/status", {"status": "active", "date": "2024-10-04"}, key=k), "back")
        _wait_current(c, _heads(c, ["registry"]))
        eq(_report(c, 1403, 1, "rey-1")["indicators"]["beneficiaries_active"], 5, "1403/1 unchanged")
        eq(_report(c, 1403, 2, "rey-1")["indicators"]["beneficiaries_active"], 4, "G gone, C back")


def test_office_page_breakdowns_and_agencies():
    """An office's page breaks its figures down by neighbourhood, field, sex and network within
    the office, and referrals by agency by agency (spellings folded together), on the province's
    page and the office's."""
    with Cluster(["registry", "reporting"], clock="2024-10-15") as c:
        k = _province(c)
        bh, bh2, km = "بهزیستی", "بهزيستی", "کمیته امداد"
        ids = _people(c, k, 7500, [
            ("2024-04-01", {"referral": {"source": "agency", "agency": bh}}),
            ("2024-04-02", {"referral": {"source": "agency", "agency": bh2}, "sex": "male"}),
            ("2024-04-03", {"referral": {"source": "agency", "agency": km}}),
            ("2024-04-04", {}),
            ("2024-04-05", {"office": "rey-2", "referral": {"source": "agency", "agency": bh}}),
        ])
        _ok(c.post("/v1/businesses", {"owner_id": ids[0], "activity": "خیاطی", "field": "handicrafts",
                                      "stage": "developing"}, key=k), "business")
        _wait_current(c, _heads(c, ["registry"]))
        office = _report(c, 1403, 1, "rey-1", sections=True)
        eq(office["indicators"]["referrals_by_agency"], 3, "rey-1 agency referrals")
        agencies = {g["key"]: g["indicators"]["referrals_by_agency"] for g in office["sections"]["agency"]}
        eq(sorted(agencies.values()), [1, 2], f"rey-1 by agency: {agencies}")
        eq(agencies.get(km), 1, f"{km}: {agencies}")
        province = _report(c, 1403, 1, sections=True)
        agencies = {g["key"]: g["indicators"]["referrals_by_agency"] for g in province["sections"]["agency"]}
        eq(sorted(agencies.values()), [1, 3], f"province by agency: {agencies}")
        for kind in ("neighbourhood", "field", "sex", "network"):
            check(kind in office["sections"], f"the office page has {kind}: {list(office['sections'])}")
        sexes = {g["key"]: g["indicators"]["beneficiaries_new"] for g in office["sections"]["sex"]}
        eq(sexes, {"female": 3, "male": 1}, "rey-1 by sex (rey-2's woman not in it)")
        html = c.get("/v1/reports/half-year?year=1403&half=1&office=rey-1", headers={"Accept": "text/html"})
        eq(html.status, 200, "html")
        page = html.raw.decode()
        for dim in ("neighbourhood", "sex", "agency"):
            check(f'data-section="{dim}"' in page, f"the printed page has the {dim} section")
