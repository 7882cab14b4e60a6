"""Records an office can run on (issue 15, registry part): dates as they happened, offices as
data and as boundaries, corrections of activities, a person's status, transfer and merge."""
import datetime

from harness import Cluster, check, eq, person


def _ok(r, what, status=(200, 201)):
    check(r.status in ((status,) if isinstance(status, int) else status), f"{what}: {r}")
    return r.json


def _refused(r, status, code, field=None):
    eq(r.status, status, f"{code}: {r}")
    eq(r.json["code"], code, f"{r}")
    if field:
        eq(r.json.get("field"), field, f"{r}")


def _events(c, type_):
    return [e for e in c.events_since("registry") if e["type"] == type_]


def test_dates_as_they_happened():
    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    with Cluster(["registry"], env={"HY_PROGRAMME_START": "1395/01/01"}) as c:
        body = person(1, registered_on_jalali="1398/05/01",
                      referral={"source": "agency", "agency": "بهزیستی", "date": "2019-07-20"})
        p = _ok(c.post("/v1/persons", body), "past registration")
        eq(p["registered_on"], "2019-07-23", "registered_on as it happened:")
        eq(p["registered_on_jalali"], "1398/05/01")
        eq(p["referrals"][0]["date"], "2019-07-20", "referral date as it happened:")
        eq(p["created_at"][:10], datetime.datetime.utcnow().date().isoformat()[:10], "created_at is now:")
        ev = _events(c, "registry.person.registered")[-1]["data"]
        eq((ev["registered_on"], ev["referrals"][0]["date"]), ("2019-07-23", "2019-07-20"))
        # today is the default
        q = _ok(c.post("/v1/persons", person(2)), "today")
        check(q["registered_on"] and q["registered_on_jalali"], q)
        _refused(c.post("/v1/persons", person(3, registered_on=tomorrow)), 422, "future_date", "registered_on")
        _refused(c.post("/v1/persons", person(3, registered_on_jalali="1394/12/29")), 422,
                 "before_programme_start", "registered_on")
        _refused(c.post("/v1/persons", person(3, referral={"source": "self", "date": tomorrow})), 422,
                 "future_date", "referral.date")
        _refused(c.post(f"/v1/persons/{p['id']}/referrals", {"source": "agency", "agency": "کمیته امداد",
                                                             "date": "2015-01-01"}),
                 422, "before_programme_start", "date")
        r = _ok(c.post(f"/v1/persons/{p['id']}/referrals", {"source": "agency", "agency": "کمیته امداد",
                                                            "date_jalali": "1399/01/15"}), "past referral")
        eq(r["referrals"][1]["date"], "2020-04-03")
        # a business's stages with their real dates
        b = _ok(c.post("/v1/businesses", {"owner_id": p["id"], "activity": "خیاطی", "field": "handicrafts",
                                          "stage": "training", "stage_date": "2019-08-01"}), "business")
        eq(b["stage_history"][0]["date"], "2019-08-01")
        _refused(c.patch(f"/v1/businesses/{b['id']}", {"stage": "producing", "stage_date": "2019-07-01"}),
                 422, "date_out_of_order", "stage_date")
        _refused(c.patch(f"/v1/businesses/{b['id']}", {"stage": "producing", "stage_date": tomorrow}),
                 422, "future_date", "stage_date")
        b = _ok(c.patch(f"/v1/businesses/{b['id']}", {"stage": "producing", "stage_date": "2020-02-01"}), "move")
        eq(b["stage_history"][-1]["date"], "2020-02-01")
        ev = _events(c, "registry.business.stage_changed")[-1]["data"]
        eq(ev["date"], "2020-02-01", "stage_changed carries the date it happened:")
        # activities: the programme start bounds them too
        _refused(c.post("/v1/activities", {"kind": "counselling", "date": "2016-03-01", "person_ids": [p["id"]]}),
                 422, "before_programme_start", "date")
        _refused(c.post("/v1/activities", {"kind": "counselling", "date": tomorrow, "person_ids": [p["id"]]}),
                 422, "future_date", "date")
        _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2016-03-20", "person_ids": [p["id"]]}),
            "first day of 1395")
