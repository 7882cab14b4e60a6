"""Records an office can run on (issue 15, registry part): dates as they happened, offices as
data and as boundaries, corrections of activities, a person's status, transfer and merge."""
import datetime
import json
import threading
import time

from harness import Cluster, check, eq, person, ok as _ok, refused as _refused


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
        eq((ev["registered_on"], ev["referrals"][0]["date"], ev["referral"]["date"]),
           ("2019-07-23", "2019-07-20", "2019-07-20"))
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


def _keys(c):
    """Keys of office rey-2 and of the province ('*'); the default social_services key is rey-1's."""
    keys = {"a": c.keys["social_services"], "b": c.make_key("social_services", office="rey-2"),
            "p": c.make_key("social_services", office="*")}
    time.sleep(1.2)  # the gateway rereads its keys file at most once a second
    return keys


def test_offices_are_data():
    with Cluster(["registry"]) as c:
        k = _keys(c)
        office = {"code": "SHAHR-3", "name": "دفتر تسهیل‌گری ۳", "province": "تهران", "city": "تهران",
                  "neighbourhoods": ["شهرري", "  شهرری ", "نازي‌آباد"]}
        _refused(c.post("/v1/offices", office), 403, "forbidden")
        o = _ok(c.post("/v1/offices", office, key="operator"), "office", 201)
        eq(o["code"], "shahr-3", "codes are normalised:")
        eq(o["neighbourhoods"], ["شهرری", "نازیاباد"], "neighbourhoods normalised, once each:")
        _refused(c.post("/v1/offices", dict(office, code="shahr-3"), key="operator"), 409, "duplicate_office")
        _refused(c.post("/v1/offices", dict(office, code="a b"), key="operator"), 422, "invalid_office_code")
        codes = [x["code"] for x in _ok(c.get("/v1/offices"), "list")["items"]]
        eq(codes, ["rey-1", "rey-2", "shahr-3"])
        eq(_ok(c.get("/v1/offices/SHAHR-3", key="operator"), "get")["name"], office["name"])
        ev = _events(c, "registry.office.created")[-1]
        eq((ev["subject"], ev["data"]["neighbourhoods"]), ("shahr-3", ["شهرری", "نازیاباد"]))
        # every office written must exist; the neighbourhood must be the office's
        _refused(c.post("/v1/persons", person(1, office="nowhere"), key=k["p"]), 422, "unknown_office", "office")
        _refused(c.post("/v1/persons", person(1), key=k["p"]), 422, "missing_office", "office")
        _refused(c.post("/v1/persons", person(1, neighbourhood="نازی‌آباد")), 422,
                 "neighbourhood_not_in_office", "neighbourhood")
        p = _ok(c.post("/v1/persons", person(1, office="SHAHR-3", neighbourhood="نازی‌آباد"), key=k["p"]), "p")
        eq(p["office"], "shahr-3", "the office is stored by its code:")
        _refused(c.patch(f"/v1/persons/{p['id']}", {"neighbourhood": "دولت‌آباد"}, key=k["p"]), 422,
                 "neighbourhood_not_in_office", "neighbourhood")
        u = _ok(c.patch("/v1/offices/shahr-3", {"neighbourhoods": ["نازی‌آباد", "دولت‌آباد"]}, key="operator"), "u")
        eq(u["neighbourhoods"], ["نازیاباد", "دولتاباد"])
        eq(_events(c, "registry.office.updated")[-1]["data"]["neighbourhoods"], ["نازیاباد", "دولتاباد"])
        _ok(c.patch(f"/v1/persons/{p['id']}", {"neighbourhood": "دولت‌آباد"}, key=k["p"]), "now covered")
        _refused(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-01", "office": "nowhere",
                                           "person_ids": [p["id"]]}, key=k["p"]), 422, "unknown_office", "office")
        _refused(c.post("/v1/businesses", {"owner_id": p["id"], "activity": "خیاطی", "field": "services",
                                           "office": "nowhere"}, key=k["p"]), 422, "unknown_office", "office")
        a = _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-01", "office": "Shahr-3",
                                          "person_ids": [p["id"]]}, key=k["p"]), "activity")
        eq(a["office"], "shahr-3")


def _setup_two_offices(c, k):
    """Office A (rey-1, default key) and office B (rey-2): a person each, B's business and activity."""
    pa = _ok(c.post("/v1/persons", person(11)), "A's person")
    pb = _ok(c.post("/v1/persons", person(12), key=k["b"]), "B's person")
    eq(pb["office"], "rey-2", "the office comes from the key:")
    bb = _ok(c.post("/v1/businesses", {"owner_id": pb["id"], "activity": "خیاطی", "field": "services"},
                    key=k["b"]), "B's business")
    ab = _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-01", "person_ids": [pb["id"]]},
                    key=k["b"]), "B's activity")
    return pa, pb, bb, ab


# Every registry write route, aimed by office A's key at office B's records. The routes of items
# not yet built answer 404/405 on today's code, which the matrix also refuses.
def _b_writes(pa, pb, bb, ab):
    return [
        ("PATCH", f"/v1/persons/{pb['id']}", {"mobile": "09120000000"}),
        ("POST", f"/v1/persons/{pb['id']}/referrals", {"source": "agency", "agency": "بهزیستی"}),
        ("POST", f"/v1/persons/{pb['id']}/transfer", {"office": "rey-1", "date": "2024-06-01"}),
        ("POST", f"/v1/persons/{pb['id']}/status", {"status": "exited", "reason": "moved away",
                                                    "date": "2024-06-01"}),
        ("POST", f"/v1/persons/{pb['id']}/merge", {"into": pa["id"]}),
        ("POST", "/v1/persons", person(13, office="rey-2")),
        ("POST", "/v1/businesses", {"owner_id": pb["id"], "activity": "قالی", "field": "handicrafts"}),
        ("PATCH", f"/v1/businesses/{bb['id']}", {"activity": "قالی‌بافی"}),
        ("POST", "/v1/activities", {"kind": "counselling", "date": "2024-05-02", "person_ids": [pb["id"]]}),
        ("POST", "/v1/activities", {"kind": "counselling", "date": "2024-05-02", "office": "rey-2",
                                    "person_ids": [pa["id"]]}),
        ("POST", f"/v1/activities/{ab['id']}/void", {"reason": "entered by mistake"}),
        ("PATCH", f"/v1/activities/{ab['id']}", {"kind": "aid", "reason": "wrong kind"}),
    ]


def test_office_scoping_matrix():
    with Cluster(["registry"]) as c:
        k = _keys(c)
        pa, pb, bb, ab = _setup_two_offices(c, k)
        before = c.events_since("registry")
        seen = {"p": c.get(f"/v1/persons/{pb['id']}", key=k["b"]).json,
                "b": c.get(f"/v1/businesses/{bb['id']}", key=k["b"]).json,
                "a": c.get(f"/v1/activities/{ab['id']}", key=k["b"]).json}
        for method, path, body in _b_writes(pa, pb, bb, ab):
            r = c.request(method, path, body=body)
            eq((r.status, (r.json or {}).get("code")), (403, "other_office"), f"A's key: {method} {path}: {r}")
        eq(len(c.events_since("registry")), len(before), "no refused write left an event:")
        eq(c.get(f"/v1/persons/{pb['id']}", key=k["b"]).json, seen["p"], "B's person unchanged:")
        eq(c.get(f"/v1/businesses/{bb['id']}", key=k["b"]).json, seen["b"], "B's business unchanged:")
        eq(c.get(f"/v1/activities/{ab['id']}", key=k["b"]).json, seen["a"], "B's activity unchanged:")
        # reads: another office's person only as far as deduplication needs
        stub = _ok(c.get(f"/v1/persons/{pb['id']}"), "stub")
        eq(stub, {"id": pb["id"], "office": "rey-2", "restricted": True})
        _refused(c.get(f"/v1/businesses/{bb['id']}"), 403, "other_office")
        _refused(c.get(f"/v1/activities/{ab['id']}"), 403, "other_office")
        found = _ok(c.get(f"/v1/persons?national_id={pb['national_id']}"), "dedup lookup")["items"]
        eq(found, [{"id": pb["id"], "office": "rey-2", "restricted": True, "national_id_match": True}])
        eq([p["id"] for p in _ok(c.get("/v1/persons"), "A's list")["items"]], [pa["id"]])
        _refused(c.get("/v1/persons?office=rey-2"), 403, "other_office", "office")
        eq(_ok(c.get("/v1/businesses"), "A's businesses")["items"], [])
        eq(_ok(c.get("/v1/activities"), "A's activities")["items"], [])
        dup = c.post("/v1/persons", person(12))
        eq((dup.status, dup.json["existing_id"]), (409, pb["id"]), "a duplicate across offices is found:")
        # the province sees all, filters, and writes any office's records
        eq(len(_ok(c.get("/v1/persons", key=k["p"]), "all")["items"]), 2)
        eq([p["id"] for p in _ok(c.get("/v1/persons?office=rey-2", key=k["p"]), "B")["items"]], [pb["id"]])
        eq(_ok(c.get(f"/v1/persons/{pb['id']}", key=k["p"]), "full")["national_id"], pb["national_id"])
        eq([b["id"] for b in _ok(c.get("/v1/businesses?office=rey-2", key=k["p"]), "B's")["items"]], [bb["id"]])
        _ok(c.patch(f"/v1/persons/{pb['id']}", {"mobile": "09120000000"}, key=k["p"]), "province writes B")
        _ok(c.patch(f"/v1/businesses/{bb['id']}", {"activity": "قالی‌بافی"}, key=k["p"]), "province writes B")
        _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-02", "office": "rey-2",
                                      "person_ids": [pb["id"]]}, key=k["p"]), "province records for B")


def test_activity_void_and_correct():
    with Cluster(["registry"]) as c:
        pa = _ok(c.post("/v1/persons", person(21)), "p")["id"]
        pa2 = _ok(c.post("/v1/persons", person(22)), "p2")["id"]
        a = _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-01", "person_ids": [pa]}), "a")
        _refused(c.patch(f"/v1/activities/{a['id']}", {"kind": "training_class"}), 400, "missing_field", "reason")
        fixed = _ok(c.patch(f"/v1/activities/{a['id']}", {
            "kind": "training_class", "date_jalali": "1403/01/13", "person_ids": [pa, pa2],
            "title": "خیاطی", "reason": "it was a class, not counselling"}), "correct")
        eq((fixed["kind"], fixed["date"], fixed["date_jalali"], fixed["person_ids"]),
           ("training_class", "2024-04-01", "1403/01/13", [pa, pa2]))
        check(fixed["corrected_at"] and fixed["corrected_by"], fixed)
        eq(fixed["created_at"], a["created_at"], "created_at unchanged:")
        ev = _events(c, "registry.activity.corrected")[-1]
        eq((ev["subject"], ev["data"]["before"]["kind"], ev["data"]["after"]["kind"], ev["data"]["reason"]),
           (a["id"], "counselling", "training_class", "it was a class, not counselling"))
        eq(ev["data"]["before"]["person_ids"], [pa])
        eq([x["id"] for x in c.get("/v1/activities?kind=training_class").json["items"]], [a["id"]])
        eq(c.get("/v1/activities?kind=counselling").json["items"], [], "the index follows the correction:")
        eq([x["id"] for x in c.get(f"/v1/activities?person_id={pa2}").json["items"]], [a["id"]])
        # a correction obeys the rules of recording, and a refused one changes nothing
        _refused(c.patch(f"/v1/activities/{a['id']}", {"kind": "meeting", "reason": "x"}), 422,
                 "missing_meeting_kind")
        _refused(c.patch(f"/v1/activities/{a['id']}", {"date": "2099-01-01", "reason": "x"}), 422, "future_date")
        _refused(c.patch(f"/v1/activities/{a['id']}", {"person_ids": ["prs_99"], "reason": "x"}), 422,
                 "unknown_person")
        eq(c.get(f"/v1/activities/{a['id']}").json, fixed, "unchanged after refused corrections:")
        # the operator may correct too
        op = _ok(c.patch(f"/v1/activities/{a['id']}", {"date": "2024-04-02", "reason": "typo"}, key="operator"),
                 "operator corrects")
        eq(op["date"], "2024-04-02")
        # void: stays readable, counts nowhere, cannot change again
        v = _ok(c.post(f"/v1/activities/{a['id']}/void", {"reason": "entered twice"}), "void")
        eq((v["voided"], v["void_reason"]), (True, "entered twice"))
        check(v["voided_by"] and v["voided_at"], v)
        g = _ok(c.get(f"/v1/activities/{a['id']}"), "voided stays readable")
        eq(g["voided"], True)
        eq(c.get("/v1/activities").json["items"], [], "lists leave voided activities out:")
        eq([x["id"] for x in c.get("/v1/activities?include_voided=true").json["items"]], [a["id"]])
        _refused(c.post(f"/v1/activities/{a['id']}/void", {"reason": "again"}), 409, "voided")
        _refused(c.patch(f"/v1/activities/{a['id']}", {"kind": "aid", "reason": "x"}), 409, "voided")
        ev = _events(c, "registry.activity.voided")[-1]["data"]
        eq((ev["id"], ev["reason"], ev["before"]["kind"], ev["before"]["date"]),
           (a["id"], "entered twice", "training_class", "2024-04-02"))
        check(ev["voided_by"] and ev["voided_at"], ev)
        audit = _ok(c.get(f"/v1/audit?entity={a['id']}", key="auditor"), "audit")["items"]
        eq([i["type"] for i in audit], ["registry.activity.recorded", "registry.activity.corrected",
                                        "registry.activity.corrected", "registry.activity.voided"])
        eq((audit[1]["data"]["before"]["kind"], audit[1]["data"]["after"]["kind"]), ("counselling", "training_class"),
           "the audit shows both versions:")
        m = _ok(c.post("/v1/activities", {"kind": "meeting", "meeting_kind": "working_group", "date": "2024-05-01"}),
                "meeting")
        _ok(c.post(f"/v1/activities/{m['id']}/void", {"reason": "never held"}, key="operator"), "operator voids")


def test_person_status_transfer_merge_and_national_id():
    with Cluster(["registry"]) as c:
        k = _keys(c)
        _ok(c.post("/v1/offices", {"code": "rey-3", "name": "دفتر ۳", "province": "تهران", "city": "تهران",
                                   "neighbourhoods": ["نازی‌آباد"]}, key="operator"), "rey-3")
        p1, p2, p3 = (_ok(c.post("/v1/persons", person(n, referral={"source": "agency", "agency": ag})), "p")
                      for n, ag in ((31, "بهزیستی"), (32, "کمیته امداد"), (33, "بهزیستی")))
        # status
        _refused(c.post(f"/v1/persons/{p3['id']}/status", {"status": "exited"}), 422, "missing_reason", "reason")
        _refused(c.post(f"/v1/persons/{p3['id']}/status", {"status": "duplicate_of"}), 400, "invalid_field")
        _refused(c.post(f"/v1/persons/{p3['id']}/status", {"status": "deceased", "date": "2099-01-01"}), 422,
                 "future_date", "date")
        s = _ok(c.post(f"/v1/persons/{p3['id']}/status", {"status": "exited", "reason": "found a job",
                                                           "date_jalali": "1403/02/01"}), "exit")
        eq((s["status"], s["status_reason"], s["status_date"]), ("exited", "found a job", "2024-04-20"))
        ev = _events(c, "registry.person.status_changed")[-1]["data"]
        eq(ev, {"id": p3["id"], "status": "exited", "reason": "found a job", "date": "2024-04-20"})
        # transfer
        _refused(c.post(f"/v1/persons/{p3['id']}/transfer", {"office": "nowhere"}), 422, "unknown_office")
        _refused(c.post(f"/v1/persons/{p3['id']}/transfer", {"office": "REY-1"}), 422, "same_office")
        _refused(c.post(f"/v1/persons/{p3['id']}/transfer", {"office": "rey-3"}), 422,
                 "neighbourhood_not_in_office", "neighbourhood")
        earlier = _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-04-25",
                                                "person_ids": [p3["id"]]}), "before the move")
        t = _ok(c.post(f"/v1/persons/{p3['id']}/transfer", {"office": "rey-2", "date": "2024-05-01"}), "transfer")
        eq((t["office"], t["transfers"]), ("rey-2", [{"from": "rey-1", "to": "rey-2", "date": "2024-05-01",
                                                      "date_jalali": "1403/02/12"}]))
        ev = _events(c, "registry.person.transferred")[-1]["data"]
        eq((ev["id"], ev["from_office"], ev["to_office"], ev["date"], ev["person"]["office"]),
           (p3["id"], "rey-1", "rey-2", "2024-05-01", "rey-2"))
        _refused(c.patch(f"/v1/persons/{p3['id']}", {"mobile": "09121111111"}), 403, "other_office")
        _ok(c.patch(f"/v1/persons/{p3['id']}", {"mobile": "09121111111"}, key=k["b"]), "her new office writes")
        _ok(c.patch(f"/v1/activities/{earlier['id']}", {"date": "2024-04-24", "reason": "typo"}),
            "the old office still corrects what it recorded before the move")
        _refused(c.patch(f"/v1/persons/{p3['id']}", {"office": "rey-1"}, key=k["b"]), 422, "immutable_field")
        t = _ok(c.post(f"/v1/persons/{p3['id']}/transfer", {"office": "rey-3", "neighbourhood": "نازی‌آباد"},
                       key=k["b"]), "on to rey-3")
        eq((t["office"], t["neighbourhood"], len(t["transfers"])), ("rey-3", "نازی‌آباد", 2))
        # merge: two records of one woman become one
        bus = _ok(c.post("/v1/businesses", {"owner_id": p2["id"], "activity": "خیاطی", "field": "services"}), "b")
        both = _ok(c.post("/v1/activities", {"kind": "training_class", "date": "2024-05-01",
                                             "person_ids": [p1["id"], p2["id"]]}), "both")
        only2 = _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-02",
                                              "person_ids": [p2["id"]]}), "p2 only")
        _refused(c.post(f"/v1/persons/{p2['id']}/merge", {"into": p2["id"]}), 422, "merge_into_self")
        _refused(c.post(f"/v1/persons/{p2['id']}/merge", {"into": p3["id"]}), 403, "other_office")
        m = _ok(c.post(f"/v1/persons/{p2['id']}/merge", {"into": p1["id"]}), "merge")
        eq((m["merged_into"], m["status"], m["duplicate_of"]), (p1["id"], "duplicate_of", p1["id"]))
        g = _ok(c.get(f"/v1/persons/{p2['id']}"), "retired id answers")
        eq(g["merged_into"], p1["id"], "GET of the merged id says where she is:")
        s1 = _ok(c.get(f"/v1/persons/{p1['id']}"), "survivor")
        eq(s1["merged_from"], [p2["id"]])
        eq(sorted(r.get("agency") for r in s1["referrals"]), sorted(["بهزیستی", "کمیته امداد"]))
        ev = _events(c, "registry.person.merged")[-1]
        eq((ev["subject"], ev["data"]["id"], ev["data"]["into"]), (p2["id"], p2["id"], p1["id"]))
        check(ev["data"]["date"], ev)
        st = _events(c, "registry.person.status_changed")[-1]["data"]
        eq((st["id"], st["status"], st["duplicate_of"]), (p2["id"], "duplicate_of", p1["id"]))
        eq(c.get(f"/v1/businesses/{bus['id']}").json["owner_id"], p1["id"], "the business follows:")
        eq(c.get(f"/v1/activities/{both['id']}").json["person_ids"], [p1["id"]], "no one counted twice:")
        eq(c.get(f"/v1/activities/{only2['id']}").json["person_ids"], [p1["id"]])
        eq(sorted(a["id"] for a in c.get(f"/v1/activities?person_id={p1['id']}").json["items"]),
           sorted([both["id"], only2["id"]]))
        eq(c.get(f"/v1/activities?person_id={p2['id']}").json["items"], [])
        eq([b["id"] for b in c.get(f"/v1/businesses?owner_id={p1['id']}").json["items"]], [bus["id"]])
        eq(sorted(p["id"] for p in c.get("/v1/persons").json["items"]), [p1["id"]], "one beneficiary listed:")
        _refused(c.patch(f"/v1/persons/{p2['id']}", {"mobile": "09121111111"}), 409, "merged")
        dup = c.post("/v1/persons", person(32))
        eq((dup.status, dup.json.get("existing_id")), (409, p1["id"]), "her old ID leads to the survivor:")
        # national ID: immutable through PATCH; the operator corrects it with a reason
        new_nid = person(34)["national_id"]
        _refused(c.patch(f"/v1/persons/{p1['id']}", {"national_id": new_nid}), 422, "immutable_field")
        _refused(c.post(f"/v1/persons/{p1['id']}/national-id", {"national_id": new_nid, "reason": "typo"}), 403,
                 "forbidden")
        _refused(c.post(f"/v1/persons/{p1['id']}/national-id", {"national_id": new_nid}, key="operator"), 400,
                 "missing_field", "reason")
        _refused(c.post(f"/v1/persons/{p1['id']}/national-id", {"national_id": p2["national_id"], "reason": "x"},
                        key="operator"), 409, "duplicate_national_id")
        fixed = _ok(c.post(f"/v1/persons/{p1['id']}/national-id", {"national_id": new_nid,
                                                                     "reason": "two digits swapped"},
                           key="operator"), "nid")
        eq(fixed["national_id"], new_nid)
        ev = _events(c, "registry.person.updated")[-1]["data"]
        eq((ev["changes"]["national_id"], ev["reason"], ev["before"]["national_id"]),
           ({"from": p1["national_id"], "to": new_nid}, "two digits swapped", p1["national_id"]))
        eq(c.get(f"/v1/persons?national_id={new_nid}").json["items"][0]["id"], p1["id"])
        eq(c.post("/v1/persons", person(31)).status, 201, "the wrong ID is free again:")


def test_kill9_between_correction_commit_and_publication():
    """Corrections and voids under load, the registry killed -9 at an arbitrary point (between a
    batch's commit and its publication among others): every acknowledged correction has its event,
    every activity's state agrees with its events, the sequence is gapless, and followers (a live
    subscriber, the reporting service) catch up by sequence."""
    with Cluster(["registry", "reporting"]) as c:
        pid = _ok(c.post("/v1/persons", person(41)), "p")["id"]
        acts = [_ok(c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-01", "person_ids": [pid]}),
                    "a")["id"] for _ in range(120)]
        sub = c.subscribe("registry")
        acked, lock, stop = [], threading.Lock(), threading.Event()

        def writer(w):
            for i, aid in enumerate(acts[w::4]):
                if stop.is_set():
                    return
                day = (datetime.date(2023, 1, 1) + datetime.timedelta(days=w * 40 + i)).isoformat()  # never 2024-05-01
                for body, path, method, kind in (
                        ({"date": day, "reason": f"date was wrong ({w})"}, f"/v1/activities/{aid}", "PATCH",
                         "registry.activity.corrected"),
                        ({"reason": "entered twice"}, f"/v1/activities/{aid}/void", "POST",
                         "registry.activity.voided")):
                    try:
                        r = c.request(method, path, body=body, timeout=5)
                    except OSError:
                        continue
                    if r.status == 200:
                        with lock:
                            acked.append((aid, kind))
                time.sleep(0.03)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.4)
        c.kill("registry")
        n_at_kill = len(acked)
        check(not all(not t.is_alive() for t in threads), "the kill landed while corrections were running")
        c.start_proc("registry")
        for t in threads:
            t.join()
        c.wait_serving("registry")
        check(n_at_kill > 0, "corrections were acknowledged before the kill")
        evs = c.events_since("registry")
        seqs = [e["seq"] for e in evs]
        eq(seqs, list(range(1, len(seqs) + 1)), "gapless sequence:")
        have = {(e["subject"], e["type"]) for e in evs}
        eq([a for a in acked if a not in have], [], "every acknowledged correction has its event:")
        for aid in acts:
            mine = [e for e in evs if e["subject"] == aid]
            cur = c.get(f"/v1/activities/{aid}").json
            eq(bool(cur.get("voided")), any(e["type"] == "registry.activity.voided" for e in mine),
               f"{aid}: voided in the record iff voided in the events:")
            fixes = [e for e in mine if e["type"] == "registry.activity.corrected"]
            eq(cur["date"], fixes[-1]["data"]["after"]["date"] if fixes else "2024-05-01",
               f"{aid}: the record is the last correction's after:")
        # a live subscriber that missed what was never published catches up from its last sequence
        live = {}
        while sub.poll(200):
            _, body = sub.recv_multipart()
            ev = json.loads(body)
            live[ev["seq"]] = ev
        upto = 0
        while upto + 1 in live:
            upto += 1
        caught = [e["seq"] for e in c.events_since("registry", after=upto)]
        eq(sorted(set(range(1, upto + 1)) | set(caught)), seqs, "live events + events.since = every event:")
        # and so does a real follower
        deadline, cursor = time.time() + 30, None
        while time.time() < deadline:
            st = c.call("reporting", "service.status")
            cursor = st.get("result", {}).get("sources", {}).get("registry", {}).get("cursor")
            if cursor == seqs[-1]:
                break
            time.sleep(0.2)
        eq(cursor, seqs[-1], "reporting has applied every registry event:")
