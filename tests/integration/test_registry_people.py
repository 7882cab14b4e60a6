"""People as the registry records them (issue 17, Registry items 1, 2 and 4 without agencies):
households with derived size and dependants, Persian name matching in both directions,
neighbourhoods grouped by their normalised form but shown as first written, search by mobile and
by national-ID fragment, licence numbers normalised and unique per licence type."""
import time

from harness import Cluster, check, eq, make_nid, person
from test_registry_records import _events, _ok, _refused


def _ids(r):
    check(r.status == 200, f"list: {r}")
    return [p["id"] for p in r.json["items"]]


def _q(text):
    import urllib.parse
    return urllib.parse.quote(text)


# ---------------------------------------------------------------- households ---------------------

def test_household_members_size_and_dependants_derived():
    with Cluster(["registry"]) as c:
        head = _ok(c.post("/v1/persons", person(1, sex="female")), "head")["id"]
        spouse = _ok(c.post("/v1/persons", person(2, sex="male", first_name="حسن")), "spouse")["id"]
        other = _ok(c.post("/v1/persons", person(3)), "other")["id"]
        h = _ok(c.post("/v1/households", {"head_person_id": head, "date_jalali": "1401/01/01"}), "household", 201)
        hid = h["id"]
        eq((h["head_id"], h["size"], h["dependants"], h["office"]), (head, 1, 0, "rey-1"), "created:")
        eq(h["members"][0]["joined_on"], "2022-03-21")
        eq(h["members"][0]["relationship"], "head")
        eq(h["members"][0]["sex"], "female")
        check(h["members"][0]["joined_on"] and h["members"][0]["joined_on_jalali"], h)
        # typed counts are not part of a household
        _refused(c.post("/v1/households", {"head_person_id": other, "size": 9}), 400, "unknown_field", "size")
        # a registered spouse joins: size 2, dependants 1
        h = _ok(c.post(f"/v1/households/{hid}/members", {"person_id": spouse, "relationship": "spouse"}),
                "spouse joins", 201)
        eq((h["size"], h["dependants"]), (2, 1), "after the spouse:")
        # a dependant recorded by name, born on a Jalali date, with a disability
        h = _ok(c.post(f"/v1/households/{hid}/members",
                       {"name": "علی رضایی", "birth_date_jalali": "1395/01/01", "sex": "male",
                        "relationship": "child", "disability": True, "date_jalali": "1402/01/01"}),
                "child joins", 201)
        eq((h["size"], h["dependants"]), (3, 2), "after the child:")
        child = h["members"][-1]
        eq((child["name"], child["birth_date"], child["birth_date_jalali"], child["disability"]),
           ("علی رضایی", "2016-03-20", "1395/01/01", True))
        check("person_id" not in child, child)
        # one household at a time
        h2 = _ok(c.post("/v1/households", {"head_person_id": other}), "second household", 201)
        r = c.post(f"/v1/households/{h2['id']}/members", {"person_id": spouse, "relationship": "spouse"})
        _refused(r, 409, "already_in_household", "person_id")
        eq(r.json.get("household_id"), hid)
        _refused(c.post("/v1/households", {"head_person_id": spouse}), 409, "already_in_household",
                 "head_person_id")
        _refused(c.post(f"/v1/households/{hid}/members", {"person_id": spouse, "relationship": "child"}),
                 409, "already_in_household", "person_id")
        # a dependant needs what identifies her
        _refused(c.post(f"/v1/households/{hid}/members", {"name": "زهرا", "relationship": "child",
                                                          "sex": "female"}),
                 422, "missing_birth_date", "birth_date")
        _refused(c.post(f"/v1/households/{hid}/members", {"relationship": "child"}), 422,
                 "missing_member", "person_id")
        _refused(c.post(f"/v1/households/{hid}/members", {"person_id": spouse, "name": "x",
                                                          "relationship": "child"}),
                 422, "person_or_name", "name")
        _refused(c.post(f"/v1/households/{hid}/members", {"person_id": other, "relationship": "head"}),
                 422, "invalid_relationship", "relationship")
        # the head cannot leave while others remain
        _refused(c.post(f"/v1/households/{hid}/members/{head}/leave", {}), 422, "head_leaving", "member")
        # the child leaves: size 2; members keep her with left_on
        h = _ok(c.post(f"/v1/households/{hid}/members/{child['member_id']}/leave",
                       {"date_jalali": "1403/01/15"}), "child leaves")
        eq((h["size"], h["dependants"]), (2, 1), "after the child left:")
        eq(h["members"][-1]["left_on_jalali"], "1403/01/15")
        _refused(c.post(f"/v1/households/{hid}/members/{child['member_id']}/leave", {}), 409,
                 "member_left", "member")
        _refused(c.post(f"/v1/households/{hid}/members/m99/leave", {}), 404, "not_found", "member")
        # the spouse leaves (named by person id) and may then join the other household
        h = _ok(c.post(f"/v1/households/{hid}/members/{spouse}/leave", {}), "spouse leaves")
        eq((h["size"], h["dependants"]), (1, 0))
        h2 = _ok(c.post(f"/v1/households/{h2['id']}/members", {"person_id": spouse, "relationship": "spouse"}),
                 "joins the other", 201)
        eq(h2["size"], 2)
        # GET and list by member
        g = _ok(c.get(f"/v1/households/{hid}"), "get")
        eq((g["size"], len(g["members"])), (1, 3))
        eq([x["id"] for x in _ok(c.get(f"/v1/households?person_id={spouse}"), "by person")["items"]],
           [h2["id"]])
        eq(len(_ok(c.get("/v1/households"), "all")["items"]), 2)
        # events: the whole household after, and the date
        ev = _events(c, "registry.household.created")
        eq(len(ev), 2)
        eq((ev[0]["data"]["head_id"], ev[0]["data"]["size"]), (head, 1))
        check(ev[0]["data"]["date"], ev[0])
        joined = _events(c, "registry.household.member_joined")
        eq([e["data"]["size"] for e in joined], [2, 3, 2])
        left = _events(c, "registry.household.member_left")
        eq([(e["data"]["size"], e["data"]["dependants"]) for e in left], [(2, 1), (1, 0)])
        eq(left[0]["data"]["date"], "2024-04-03")
        eq(left[0]["subject"], hid)


def test_typed_household_counts_must_agree():
    """The person's older typed counts stay accepted but cannot contradict each other."""
    with Cluster(["registry"]) as c:
        _refused(c.post("/v1/persons", person(1, household_size=2, dependants=9)), 422,
                 "inconsistent_household", "dependants")
        p = _ok(c.post("/v1/persons", person(2, household_size=3, dependants=2)), "agreeing", 201)
        _refused(c.patch(f"/v1/persons/{p['id']}", {"household_size": 2}), 422, "inconsistent_household",
                 "dependants")
        _ok(c.patch(f"/v1/persons/{p['id']}", {"household_size": 4}), "larger")
        _ok(c.patch(f"/v1/persons/{p['id']}", {"dependants": None, "household_size": 1}), "cleared")


def test_household_head_change_and_office_scope():
    with Cluster(["registry"]) as c:
        head = _ok(c.post("/v1/persons", person(1, sex="male")), "head")["id"]
        wife = _ok(c.post("/v1/persons", person(2, sex="female")), "wife")["id"]
        h = _ok(c.post("/v1/households", {"head_person_id": head}), "household", 201)
        hid = h["id"]
        h = _ok(c.post(f"/v1/households/{hid}/members", {"person_id": wife, "relationship": "spouse"}),
                "wife", 201)
        dep = _ok(c.post(f"/v1/households/{hid}/members",
                         {"name": "سارا", "birth_date": "2015-01-01", "sex": "female", "relationship": "child"}),
                  "child", 201)["members"][-1]["member_id"]
        # a dependant recorded by name cannot head the household
        _refused(c.post(f"/v1/households/{hid}/head", {"member": dep}), 422, "head_not_registered", "member")
        h = _ok(c.post(f"/v1/households/{hid}/head", {"member": wife, "previous_head_relationship": "spouse"}),
                "head changes")
        eq(h["head_id"], wife)
        rel = {m.get("person_id"): m["relationship"] for m in h["members"]}
        eq((rel[wife], rel[head]), ("head", "spouse"))
        ev = _events(c, "registry.household.head_changed")[-1]["data"]
        eq((ev["head_id"], ev["previous_head_id"], ev["size"]), (wife, head, 3))
        check(ev["date"], ev)
        # now the former head may leave
        h = _ok(c.post(f"/v1/households/{hid}/members/{head}/leave", {}), "former head leaves")
        eq(h["size"], 2)
        # another office's key neither reads nor writes it
        other = c.make_key("social_services", office="rey-2")
        time.sleep(1.2)
        _refused(c.get(f"/v1/households/{hid}", key=other), 403, "other_office")
        _refused(c.post(f"/v1/households/{hid}/members", {"name": "x", "birth_date": "2015-01-01",
                                                          "sex": "male", "relationship": "child"}, key=other),
                 403, "other_office")
        eq(_ok(c.get("/v1/households", key=other), "rey-2 list")["items"], [])
        _refused(c.get("/v1/households?office=rey-1", key=other), 403, "other_office", "office")
        # a person of another office cannot head a household of rey-2
        _refused(c.post("/v1/households", {"head_person_id": head}, key=other), 403, "other_office")


def test_household_follows_a_merge_of_two_records():
    with Cluster(["registry"]) as c:
        ids = [_ok(c.post("/v1/persons", person(i)), "p")["id"] for i in range(1, 7)]
        # the retired record heads a household; the survivor is in none: the entry is re-pointed
        h1 = _ok(c.post("/v1/households", {"head_person_id": ids[0]}), "h1", 201)["id"]
        _ok(c.post(f"/v1/persons/{ids[0]}/merge", {"into": ids[1]}), "merge 0 into 1")
        h = _ok(c.get(f"/v1/households/{h1}"), "h1")
        eq((h["head_id"], h["members"][0]["person_id"], h["size"]), (ids[1], ids[1], 1))
        eq([x["id"] for x in _ok(c.get(f"/v1/households?person_id={ids[1]}"), "by survivor")["items"]], [h1])
        eq(_ok(c.get(f"/v1/households?person_id={ids[0]}"), "by retired")["items"], [])
        # both records in one household: the retired one leaves, the survivor takes the headship
        h2 = _ok(c.post("/v1/households", {"head_person_id": ids[2]}), "h2", 201)["id"]
        _ok(c.post(f"/v1/households/{h2}/members", {"person_id": ids[3], "relationship": "other"}), "join", 201)
        _ok(c.post(f"/v1/persons/{ids[2]}/merge", {"into": ids[3]}), "merge 2 into 3")
        h = _ok(c.get(f"/v1/households/{h2}"), "h2")
        eq((h["head_id"], h["size"], h["dependants"]), (ids[3], 1, 0))
        eq((h["members"][0]["left_on"] is not None, h["members"][0]["leave_reason"], h["members"][1]["relationship"]),
           (True, "merged", "head"))
        ev = _events(c, "registry.household.head_changed")[-1]["data"]
        eq((ev["head_id"], ev["previous_head_id"]), (ids[3], ids[2]))
        # two households: refused until one leaves
        _ok(c.post("/v1/households", {"head_person_id": ids[4]}), "h3", 201)
        _refused(c.post(f"/v1/persons/{ids[4]}/merge", {"into": ids[1]}), 409, "household_conflict", "into")
        eq(_ok(c.get(f"/v1/persons/{ids[4]}"), "not merged").get("merged_into"), None)


# ---------------------------------------------------------------- Persian names ------------------

PAIRS = [
    ("رضایی", "رضائی"), ("فاطمه", "فاطمة"), ("آمنه", "امنه"), ("علی", "علي"), ("کریمی", "كريمي"),
    ("احمد", "أحمد"), ("اسماعیل", "إسماعیل"), ("مومنی", "مؤمنی"), ("محمدی", "محـــمدی"),
    ("محمد", "مُحَمَّد"), ("موسی", "موسى"), ("کاظمی۱۲", "کاظمی12"), ("کاظمی٣٤", "کاظمی34"),
    ("فاطمه‌زهرا", "فاطمه زهرا"), ("فاطمه‌زهرا", "فاطمهزهرا"),
]


def test_names_match_in_both_directions():
    with Cluster(["registry"]) as c:
        n = 100
        for a, b in PAIRS:
            for stored, asked in ((a, b), (b, a)):
                n += 1
                pid = _ok(c.post("/v1/persons", person(n, first_name=stored, last_name=f"تست{n}")),
                          f"register {stored}")["id"]
                got = _ids(c.get(f"/v1/persons?q={_q(asked)}&limit=500"))
                check(pid in got, f"q={asked} does not find {stored}")
        # each part of a compound name is searchable
        pid = _ok(c.post("/v1/persons", person(500, first_name="فاطمه‌زهرا", last_name="نوری")), "fz")["id"]
        for part in ("زهرا", "فاطمه", "زهرا نوری", "نوری فاطمه"):
            check(pid in _ids(c.get(f"/v1/persons?q={_q(part)}&limit=500")), f"q={part}")
        check(pid not in _ids(c.get(f"/v1/persons?q={_q('زهره')}&limit=500")), "زهره is another name")


def test_neighbourhoods_group_by_normalised_form_and_show_the_first_spelling():
    offices = [{"code": "rey-1", "name": "دفتر ری", "province": "تهران", "city": "تهران",
                "neighbourhoods": ["دولت‌آباد", "دولت آباد", "شهرری", "نازی‌آباد"]}]
    with Cluster(["registry"], offices=offices) as c:
        o = _ok(c.get("/v1/offices/rey-1"), "office")
        eq(o["neighbourhood_names"], ["دولت‌آباد", "شهرری", "نازی‌آباد"], "display forms, first written:")
        eq(o["neighbourhoods"], ["دولتاباد", "شهرری", "نازیاباد"], "grouping keys:")
        a = _ok(c.post("/v1/persons", person(1, neighbourhood="دولت آباد")), "a")
        b = _ok(c.post("/v1/persons", person(2, neighbourhood="دولت‌آباد")), "b")
        c3 = _ok(c.post("/v1/persons", person(3, neighbourhood="دولتآباد")), "c")
        eq({a["neighbourhood"], b["neighbourhood"], c3["neighbourhood"]}, {"دولت‌آباد"},
           "one neighbourhood, shown as the office wrote it:")
        for spelling in ("دولت آباد", "دولت‌آباد", "دولتاباد"):
            eq(sorted(_ids(c.get(f"/v1/persons?neighbourhood={_q(spelling)}"))),
               sorted([a["id"], b["id"], c3["id"]]), f"neighbourhood={spelling}:")
        # PATCH keeps a known neighbourhood's first spelling
        o = _ok(c.patch("/v1/offices/rey-1", {"neighbourhoods": ["نازی آباد", "دولت‌آباد", "یافت‌آباد"]},
                        key="operator"), "patch")
        eq(o["neighbourhood_names"], ["نازی‌آباد", "دولت‌آباد", "یافت‌آباد"])
        ev = _events(c, "registry.office.updated")[-1]["data"]
        eq(ev["neighbourhoods"], ["نازیاباد", "دولتاباد", "یافتاباد"])


# ---------------------------------------------------------------- mobile, ID, licence ------------

def test_search_by_mobile_and_national_id_fragment():
    with Cluster(["registry"]) as c:
        p = _ok(c.post("/v1/persons", person(1, mobile="0912 345 6789")), "p")
        _ok(c.post("/v1/persons", person(2, mobile="09120000001")), "q")
        for form in ("09123456789", "+989123456789", "9123456789", "۰۹۱۲۳۴۵۶۷۸۹", "+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹",
                     "٠٩١٢٣٤٥٦٧٨٩", "00989123456789"):
            eq(_ids(c.get(f"/v1/persons?mobile={_q(form)}")), [p["id"]], f"mobile={form}:")
        _refused(c.get("/v1/persons?mobile=12345"), 422, "invalid_mobile", "mobile")
        nid = p["national_id"]
        other = make_nid(2)
        for frag in (nid[:4], nid[-4:], nid[3:8]):
            fa = frag.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
            for form in (frag, fa):
                got = _ids(c.get(f"/v1/persons?national_id_contains={_q(form)}"))
                check(p["id"] in got, f"fragment {form} of {nid}: {got}")
                eq(len(got), 1 + (frag in other), f"fragment {form}:")
        _refused(c.get("/v1/persons?national_id_contains=12"), 422, "short_fragment", "national_id_contains")
        # a fragment stays inside the caller's office
        key2 = c.make_key("social_services", office="rey-2")
        time.sleep(1.2)
        eq(_ids(c.get(f"/v1/persons?national_id_contains={nid[-4:]}", key=key2)), [])
        eq(_ids(c.get(f"/v1/persons?mobile=09123456789", key=key2)), [])


def test_licence_numbers_normalised_and_unique_per_type():
    with Cluster(["registry"]) as c:
        owners = [_ok(c.post("/v1/persons", person(i)), "owner")["id"] for i in range(1, 5)]

        def biz(i, lic):
            return c.post("/v1/businesses", {"owner_id": owners[i], "activity": "خیاطی", "field": "industry",
                                             "licence": lic})
        b = _ok(biz(0, {"type": "independent", "number": "۱۲۳-۴۵۶ ۷"}), "first", 201)
        eq(b["licence"]["number"], "1234567")
        r = biz(1, {"type": "independent", "number": "1234567"})
        _refused(r, 409, "duplicate_licence", "licence.number")
        eq(r.json.get("existing_id"), b["id"])
        _refused(biz(1, {"type": "independent", "number": "١٢٣٤٥٦٧"}), 409, "duplicate_licence")
        s = _ok(biz(1, {"type": "supporter", "number": "1234567"}), "other type", 201)
        _refused(c.patch(f"/v1/businesses/{s['id']}", {"licence": {"type": "independent", "number": "123 4567"}}),
                 409, "duplicate_licence", "licence.number")
        # a business keeps its own number on a PATCH; removing a licence frees the number
        _ok(c.patch(f"/v1/businesses/{b['id']}", {"licence": {"type": "independent", "number": "1234567",
                                                             "issued": "2020-01-01"}}), "same number")
        _ok(c.patch(f"/v1/businesses/{b['id']}", {"licence": None}), "remove")
        _ok(biz(2, {"type": "independent", "number": "1234567"}), "freed", 201)
        _ok(biz(3, {"type": "independent", "number": "L-1"}), "letters", 201)


def _staged(data_dir):
    """How many persons' name keys wait staged in a stopped registry (mdb_stat of name_new)."""
    import subprocess
    out = subprocess.run(["mdb_stat", "-s", "registry.name_new", data_dir], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("Entries:"):
            return int(line.split(":")[1])
    return -1


def test_staged_names_survive_kill9_and_are_merged():
    """A registration's name keys are staged (services/registry/names.c) and merged into the
    name index later. A registry killed -9 with persons staged finds them by name after its
    restart and flags a newcomer that matches a staged person; idle, it merges them, and they
    are found as before."""
    import os
    with Cluster(["registry"], env={"HY_NAME_STAGE_MAX": "100000",
                                    "HY_NAME_STAGE_IDLE_MS": "3000"}) as c:
        ids = []
        for n in range(1, 31):
            ids.append(_ok(c.post("/v1/persons", person(7000 + n, first_name="نرگس",
                                                        last_name=f"صبوری{n % 3}")), f"p{n}")["id"])
        c.kill("registry")
        data = os.path.join(c.dir, "var", "registry")
        staged = _staged(data)
        check(staged > 0, f"the kill landed while persons were staged ({staged})")
        c.start_proc("registry")
        c.wait_serving("registry")
        got = _ids(c.get(f"/v1/persons?q={_q('نرگس')}&limit=500"))
        eq(sorted(got), sorted(ids), "found by name after the restart:")
        eq(len(_ids(c.get(f"/v1/persons?q={_q('صبوری1')}&limit=500"))), 10)
        dup = dict(person(7100, first_name="نرگس", last_name="صبوری1"))
        r = _ok(c.post("/v1/persons", dup), "a newcomer like a staged person")
        eq(len(r.get("possible_duplicates", [])), 10, "flagged against the staged persons:")
        # her national ID is staged too: taken, and found by it
        r = c.post("/v1/persons", person(7000 + 5, first_name="دیگری"))
        eq((r.status, r.json.get("code"), r.json.get("existing_id")),
           (409, "duplicate_national_id", ids[4]), "a staged national ID is taken:")
        eq(_ids(c.get(f"/v1/persons?national_id={make_nid(7005)}")), [ids[4]])
        # idle for HY_NAME_STAGE_IDLE_MS: the background step merges them
        time.sleep(4.5)
        c.kill("registry", sig=__import__("signal").SIGTERM)
        eq(_staged(data), 0, "merged when idle:")
        c.start_proc("registry")
        c.wait_serving("registry")
        got = _ids(c.get(f"/v1/persons?q={_q('نرگس صبوری')}&limit=500"))
        eq(len(got), 31, "found by name once merged:")
        eq(c.post("/v1/persons", person(7000 + 5)).status, 409, "a merged national ID is taken:")
        eq(_ids(c.get(f"/v1/persons?national_id={make_nid(7005)}")), [ids[4]])
