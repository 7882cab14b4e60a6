"""Agencies' lists imported into the registry (issue 18), agencies (issue 17 item 4) and possible
duplicates (issue 17 item 3). Lists of three agencies that overlap are generated here in the
forms agencies send; the outcome of every row is worked out independently in this file and the
counts compared with the registry's."""
import base64
import json
import time

from harness import Cluster, check, eq, nid_check_digit, person

LIST_DATE_J = "1402/06/15"
LIST_DATE = "2023-09-06"
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
AR = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
ENV = {"HY_PROGRAMME_START": "1395/01/01"}
AGENCIES = [("behzisti", "بهزیستی"), ("emdad", "کمیته امداد"), ("shahrdari", "شهرداری")]
FILLABLE = ("mobile", "neighbourhood", "household_size", "head_of_household")


def _ok(r, what, status=(200, 201, 202)):
    check(r.status in ((status,) if isinstance(status, int) else status), f"{what}: {r}")
    return r.json


def _nid(n):
    """A valid ID; every fourth one starts with 0 (agencies' files lose that zero)."""
    base = (f"0{(n * 7919 + 1234) % 10**8:08d}" if n % 4 == 0
            else f"{(n * 7919 + 123456789) % 10**9:09d}")
    if base[0] != "0" and n % 4 == 0:
        base = "0" + base[1:]
    return base + nid_check_digit(base)


def _bad_nid(n):
    good = _nid(n)
    return good[:9] + str((int(good[9]) + 1) % 10)


FIRST = ["فاطمه", "زهرا", "مریم", "معصومه", "سکینه", "فاطمه‌زهرا", "کبری", "مهری"]
LAST = ["رضایی", "محمدی", "کریمی", "حسینی", "یزدانی", "کاظمی", "نیکزاد", "احمدی"]


def _people(n):
    """The population the lists draw from: each woman's fields as her record would hold them."""
    out = []
    for i in range(1, n + 1):
        out.append({
            "nid": _nid(i), "first": FIRST[i % len(FIRST)], "last": LAST[(i // 8) % len(LAST)] + str(i),
            "birth": f"13{50 + i % 30}/{1 + i % 12:02d}/{1 + i % 28:02d}",
            "mobile": f"0912{i:07d}", "hood": ["شهرری", "دولت‌آباد", "hood-c"][i % 3],
            "size": 1 + i % 6,
        })
    return out


def _key(first, last, birth):
    fold = lambda s: s.replace("ي", "ی").replace("ك", "ک").replace("\u200c", "").replace(" ", "")
    return (fold(first), fold(last), birth)


class Model:
    """The registry as this test expects it: outcome of each row, worked out from the rules."""

    def __init__(self):
        self.known = {}    # nid -> {"agencies": set, "fields": set}
        self.keys = {}     # name key -> set of nids

    def apply(self, agency, rows):
        counts = {k: 0 for k in ("created", "referral_added", "updated", "possible_duplicate",
                                 "invalid", "unchanged")}
        for r in rows:
            if r.get("invalid"):
                counts["invalid"] += 1
                continue
            fields = {f for f in FILLABLE if r.get(f) is not None}
            k = _key(r["first"], r["last"], r["birth"])
            if r["nid"] in self.known:
                p = self.known[r["nid"]]
                new = fields - p["fields"]
                if agency not in p["agencies"]:
                    out = "referral_added"
                elif new:
                    out = "updated"
                else:
                    out = "unchanged"
                p["agencies"].add(agency)
                p["fields"] |= fields
            else:
                out = ("possible_duplicate" if self.keys.get(k, set()) - {r["nid"]} else "created")
                self.known[r["nid"]] = {"agencies": {agency}, "fields": fields}
                self.keys.setdefault(k, set()).add(r["nid"])
            counts[out] += 1
        return counts


def _row(p, **over):
    r = {"nid": p["nid"], "first": p["first"], "last": p["last"], "birth": p["birth"],
         "mobile": p["mobile"], "neighbourhood": p["hood"], "household_size": p["size"],
         "head_of_household": True}
    r.update(over)
    return r


def _csv_cell(v):
    v = "" if v is None else str(v)
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\t') else v


# ---- the three lists ------------------------------------------------------------------------
def _list_a(pop):
    """بهزیستی: CSV, UTF-8 with BOM, CRLF, Persian headers and digits, 9-digit IDs, blank rows,
    two bad IDs, one impossible date, a quoted cell with a comma."""
    rows = [_row(p, mobile=None if i % 5 == 0 else p["mobile"]) for i, p in enumerate(pop[:30])]
    rows.append(dict(_row(pop[30]), nid=_bad_nid(31), invalid=("invalid_national_id", "national_id")))
    rows.append(dict(_row(pop[31]), nid="12345", invalid=("invalid_national_id", "national_id")))
    rows.append(dict(_row(pop[32]), birth="1360/13/01", invalid=("invalid_date", "birth_date")))
    head = ["ردیف", "کد ملی", "نام", "نام خانوادگی", "تاریخ تولد", "جنسیت", "تلفن همراه", "محله",
            "تعداد افراد خانوار", "سرپرست خانوار"]
    lines = [",".join(head)]
    for i, r in enumerate(rows):
        nid = r["nid"][1:] if r["nid"].startswith("0") else r["nid"]
        cells = [str(i + 1), nid.translate(FA), r["first"], r["last"], r["birth"].translate(FA), "زن",
                 (r["mobile"] or "").translate(FA), r["neighbourhood"], str(r["household_size"]).translate(FA),
                 "بله"]
        if i == 3:
            cells[7] = "شهرری"
            cells[2] = r["first"]
        lines.append(",".join(_csv_cell(c) for c in cells))
        if i % 10 == 4:
            lines.append(",,,,,,,,,")  # blank row
    lines.append("")
    return rows, ("\ufeff" + "\r\n".join(lines)).encode("utf-8"), 3


def _list_b(pop):
    """کمیته امداد: Excel's Unicode text (UTF-16LE with BOM, tab-separated), Arabic digits and
    Arabic ي/ك in names, ZWNJ variants; overlaps list A; one woman with A's name and birth date
    under another ID (a possible duplicate)."""
    rows = [_row(p) for p in pop[20:45]]
    twin = pop[2]
    rows.append(_row({**pop[50], "first": twin["first"], "last": twin["last"], "birth": twin["birth"]}))
    rows.append(dict(_row(pop[46]), birth="", invalid=("missing_field", "birth_date")))
    head = ["کد ملي", "نام", "نام‌خانوادگی", "تاریخ تولد", "جنسیت", "تلفن همراه", "محله", "تعداد افراد خانوار"]
    lines = ["\t".join(head)]
    for r in rows:
        first = r["first"].replace("ی", "ي").replace("ک", "ك").replace("\u200c", " ")
        lines.append("\t".join([r["nid"].translate(AR), first, r["last"].replace("ی", "ي"),
                                r["birth"].replace("/", "-").translate(AR), "زن", r["mobile"].translate(AR),
                                r["neighbourhood"], str(r["household_size"])]))
        r.pop("head_of_household")
    lines.append("")
    return rows, "\ufeff".encode("utf-16-le") + "\r\n".join(lines).encode("utf-16-le"), 0


def _list_c(pop):
    """شهرداری: JSON Lines with English keys; overlaps A and B; one woman listed twice, the second
    time with a mobile the first lacked (updated), once more with nothing new (unchanged)."""
    rows = [_row(p, mobile=None) for p in pop[40:55]]
    rows.append(_row(pop[47]))            # same woman again, mobile now: updated
    rows.append(_row(pop[47]))            # and again: unchanged
    rows.append(dict(_row(pop[56]), nid="abc", invalid=("invalid_national_id", "national_id")))
    lines = []
    for i, r in enumerate(rows):
        d = {"national_id": r["nid"], "first_name": r["first"], "last_name": r["last"],
             "birth_date": r["birth"], "sex": "female", "neighbourhood": r["neighbourhood"],
             "household_size": r["household_size"], "head_of_household": "yes"}
        if r["mobile"]:
            d["mobile"] = r["mobile"]
        lines.append(json.dumps(d, ensure_ascii=False))
        if i == 5:
            lines.append("")
    return rows, ("\n".join(lines) + "\n").encode("utf-8"), 1


# ---- sending and waiting ---------------------------------------------------------------------
def _send(c, agency, data, part=None, **extra):
    """Uploads data (bytes) in parts of `part` bytes (one request when None); returns the import."""
    chunks = [data] if part is None else [data[i:i + part] for i in range(0, len(data), part)] or [b""]
    b64 = lambda b: base64.b64encode(b).decode()
    body = {"agency": agency, "date_jalali": LIST_DATE_J, "data": b64(chunks[0]),
            "more": len(chunks) > 1, **extra}
    imp = _ok(c.post("/v1/imports", body), "import created", 202)
    for seq, ch in enumerate(chunks[1:], start=1):
        imp = _ok(c.post(f"/v1/imports/{imp['id']}/parts",
                         {"seq": seq, "data": b64(ch), "last": seq == len(chunks) - 1}), f"part {seq}", 202)
    return imp


def _wait(c, imp_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = c.get(f"/v1/imports/{imp_id}")
        if r.status == 200 and r.json["state"] == "done":
            return r.json
        time.sleep(0.2)
    raise AssertionError(f"import {imp_id} not done: {c.get(f'/v1/imports/{imp_id}')}")


def _rows(c, imp_id, outcome=None):
    out, cursor = [], None
    while True:
        q = f"/v1/imports/{imp_id}/rows?limit=500" + (f"&outcome={outcome}" if outcome else "")
        page = _ok(c.get(q + (f"&cursor={cursor}" if cursor else "")), "rows")
        out += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def _agencies(c):
    for code, name in AGENCIES:
        _ok(c.post("/v1/agencies", {"code": code, "name": name}, key="operator"), code, 201)


def test_agencies():
    with Cluster(["registry"], env=ENV) as c:
        _agencies(c)
        got = _ok(c.get("/v1/agencies"), "list")["items"]
        eq([a["code"] for a in got], sorted(code for code, _ in AGENCIES))
        for body, field in (({"code": "EMDAD", "name": "x"}, "code"),
                            ({"code": "emdad2", "name": "كميته‌امداد"}, "name")):
            r = c.post("/v1/agencies", body, key="operator")
            eq((r.status, r.json["code"], r.json.get("field")), (409, "duplicate_agency", field), f"{r}")
        eq(c.post("/v1/agencies", {"code": "x", "name": "y"}).status, 403, "staff may not add agencies")
        r = c.post("/v1/imports", {"agency": "unknown", "date": LIST_DATE, "data": ""})
        eq((r.status, r.json["code"], r.json.get("field")), (422, "unknown_agency", "agency"), f"{r}")


def test_three_agencies_lists():
    pop = _people(60)
    model = Model()
    with Cluster(["registry"], env=ENV) as c:
        _agencies(c)
        imports = []
        for agency, make, part in (("behzisti", _list_a, None), ("emdad", _list_b, 777),
                                   ("shahrdari", _list_c, 500)):
            rows, data, blank = make(pop)
            want = model.apply(agency, rows)
            imp = _send(c, agency, data, part=part, file_name=agency + ".csv")
            done = _wait(c, imp["id"])
            eq(done["counts"], want, f"{agency} counts:")
            print(f"    {agency}: {want}")
            eq((done["total"], done["done"], done["blank_rows"]), (len(rows), len(rows), blank),
               f"{agency} totals:")
            eq(done["progress"], 1.0)
            bad = [r for r in rows if r.get("invalid")]
            got = _rows(c, imp["id"], "invalid")
            eq(sorted((g["code"], g["field"]) for g in got), sorted(r["invalid"] for r in bad),
               f"{agency} invalid rows:")
            check(all(g["input"].get("national_id") for g in got), got)
            imports.append((agency, imp["id"], rows, data, part, want))

        # created persons carry the list's date and their import
        created = _rows(c, imports[0][1], "created")
        p = _ok(c.get(f"/v1/persons/{created[0]['person_id']}"), "person")
        eq((p["registered_on"], p["referrals"][0]["date"], p["referrals"][0]["agency"], p["import_id"]),
           (LIST_DATE, LIST_DATE, "بهزیستی", imports[0][1]))
        regs = [e["data"] for e in c.events_since("registry") if e["type"] == "registry.person.registered"]
        from_import = [e for e in regs if e.get("import_id")]
        eq(len(from_import), sum(w["created"] + w["possible_duplicate"] for *_, w in imports),
           "one registered event per person an import created:")
        check(all(e["registered_on"] == LIST_DATE and e["referral"]["date"] == LIST_DATE for e in from_import))
        # a woman on two lists has both referrals
        both = _ok(c.get(f"/v1/persons?national_id={pop[25]['nid']}"), "search")["items"][0]
        eq(sorted(r["agency"] for r in both["referrals"]), sorted(["بهزیستی", "کمیته امداد"]))

        # the same files again: nothing changes
        seq0 = len(c.events_since("registry"))
        for agency, _, rows, data, part, want in imports:
            again = _wait(c, _send(c, agency, data, part=part)["id"])
            n_bad = sum(1 for r in rows if r.get("invalid"))
            eq(again["counts"], {"created": 0, "referral_added": 0, "updated": 0, "possible_duplicate": 0,
                                 "invalid": n_bad, "unchanged": len(rows) - n_bad}, f"{agency} again:")
        eq(len(c.events_since("registry")), seq0, "a re-import writes no event")

        # possible duplicates: listed, then resolved
        dups = _ok(c.get("/v1/persons/possible-duplicates"), "dups")["items"]
        eq(len(dups), 1, f"{dups}")
        d = dups[0]
        eq(d["other"]["national_id"], pop[2]["nid"])
        eq(d["import_id"], imports[1][1])
        # a registration by hand that looks like a known woman is accepted and flagged
        twin = pop[5]
        body = person(900, first_name=twin["first"].replace("ی", "ي"), last_name=twin["last"])
        body.pop("birth_date")
        body["birth_date_jalali"] = twin["birth"].translate(FA)
        hand = _ok(c.post("/v1/persons", body), "registration", 201)
        other = _ok(c.get(f"/v1/persons?national_id={twin['nid']}"), "twin")["items"][0]
        eq(hand.get("possible_duplicates"), [other["id"]], f"{hand}")
        dups = _ok(c.get("/v1/persons/possible-duplicates"), "dups")["items"]
        eq(len(dups), 2)
        first, second = dups
        r = _ok(c.post(f"/v1/persons/possible-duplicates/{first['id']}/not-same",
                       {"reason": "دو نفر متفاوت"}), "not same")
        eq(r["status"], "not_same")
        r = c.post(f"/v1/persons/possible-duplicates/{first['id']}/not-same", {"reason": "again"})
        eq((r.status, r.json["code"]), (409, "already_resolved"), f"{r}")
        _ok(c.post(f"/v1/persons/{second['person_id']}/merge", {"into": second["other_id"]}), "merge")
        eq(_ok(c.get("/v1/persons/possible-duplicates"), "open")["items"], [])
        eq([x["id"] for x in _ok(c.get("/v1/persons/possible-duplicates?status=merged"), "m")["items"]],
           [second["id"]])
        eq([x["id"] for x in _ok(c.get("/v1/persons/possible-duplicates?status=not_same"), "n")["items"]],
           [first["id"]])


def test_import_refusals():
    with Cluster(["registry"], env=ENV) as c:
        _agencies(c)
        b64 = lambda s: base64.b64encode(s.encode()).decode()
        r = c.post("/v1/imports", {"agency": "behzisti", "date": LIST_DATE, "data": b64("نام,محله\nزهرا,x\n")})
        eq((r.status, r.json["code"]), (422, "missing_column"), f"{r}")
        r = c.post("/v1/imports", {"agency": "behzisti", "date": LIST_DATE, "data": "***"})
        eq((r.status, r.json["code"]), (422, "invalid_data"), f"{r}")
        r = c.post("/v1/imports", {"agency": "behzisti", "date": LIST_DATE,
                                   "data": base64.b64encode(b"\xff\xff\xff,a\n").decode()})
        eq((r.status, r.json["code"]), (422, "invalid_encoding"), f"{r}")
        r = c.post("/v1/imports", {"agency": "behzisti", "date": "2015-01-01", "data": ""})
        eq((r.status, r.json["code"]), (422, "before_programme_start"), f"{r}")
        imp = _ok(c.post("/v1/imports", {"agency": "behzisti", "date": LIST_DATE, "more": True,
                                         "data": b64("کد ملی,نام\n")}), "open", 202)
        r = c.post(f"/v1/imports/{imp['id']}/parts", {"seq": 2, "data": ""})
        eq((r.status, r.json["code"], r.json.get("expected_seq")), (409, "part_out_of_order", 1), f"{r}")
        _ok(c.post(f"/v1/imports/{imp['id']}/parts", {"seq": 1, "data": "", "last": True}), "last", 202)
        again = _ok(c.post(f"/v1/imports/{imp['id']}/parts", {"seq": 1, "data": "", "last": True}), "resent", 202)
        eq(again["parts"], 2, "a part sent again is taken once")
        r = c.post(f"/v1/imports/{imp['id']}/parts", {"seq": 2, "data": ""})
        eq((r.status, r.json["code"]), (409, "import_not_receiving"), f"{r}")
        eq(_wait(c, imp["id"])["total"], 0)
        other = c.make_key("social_services", office="rey-2")
        time.sleep(1.2)
        eq(c.get(f"/v1/imports/{imp['id']}", key=other).status, 404, "another office's import")


def test_kill9_mid_import_resumes():
    """The registry killed -9 while an import runs: it resumes at start-up and ends with the
    counts an uninterrupted run gives, each person created once."""
    n = 1500
    pop = _people(n)
    rows = [_row(p) for p in pop]
    for i in range(0, n, 97):
        rows[i] = dict(rows[i], nid=_bad_nid(i + 1), invalid=("invalid_national_id", "national_id"))
    want = Model().apply("behzisti", rows)
    data = "".join(json.dumps({"کد ملی": r["nid"], "نام": r["first"], "نام خانوادگی": r["last"],
                               "تاریخ تولد": r["birth"], "جنسیت": "زن", "محله": r["neighbourhood"]},
                              ensure_ascii=False) + "\n" for r in rows).encode()
    with Cluster(["registry"], env={**ENV, "HY_IMPORT_STEP_ROWS": "10"}) as c:
        _agencies(c)
        imp = _send(c, "behzisti", data, part=200_000)
        deadline = time.time() + 60
        while time.time() < deadline:
            done = c.get(f"/v1/imports/{imp['id']}").json["done"]
            if done >= 50:
                break
            time.sleep(0.05)
        c.kill("registry")
        check(done < n, f"the kill landed mid-import ({done} of {n})")
        c.start_proc("registry")
        c.wait_serving("registry")
        end = _wait(c, imp["id"], timeout=300)
        eq(end["counts"], want, "counts after the restart:")
        regs = [e for e in c.events_since("registry")
                if e["type"] == "registry.person.registered" and e["data"].get("import_id") == imp["id"]]
        eq(len(regs), want["created"] + want["possible_duplicate"], "each person registered once:")
        eq(len({e["data"]["national_id"] for e in regs}), len(regs))


def test_hamyarctl_import_follows():
    """hamyarctl import sends a file in parts (1 KiB here, so characters and records are cut) and
    follows it to the end; the counts are the ones the same list gives through the API."""
    import os
    import subprocess
    pop = _people(60)
    rows, data, _ = _list_b(pop)
    want = Model().apply("emdad", rows)
    with Cluster(["registry"], env=ENV) as c:
        _agencies(c)
        path = os.path.join(c.dir, "emdad.txt")
        with open(path, "wb") as f:
            f.write(data)
        env = dict(c.env, HY_API_KEY=c.keys["social_services"])
        out = subprocess.run([c.bin("hamyarctl"), "import", path, "--agency", "emdad", "--date", LIST_DATE_J,
                              "--part-kb", "1", "--follow"], env=env, capture_output=True, text=True,
                             timeout=120)
        eq(out.returncode, 0, f"hamyarctl import: {out.stderr}")
        done = json.loads(out.stdout)
        eq(done["counts"], want)
        check(done["parts"] == (len(data) + 1023) // 1024, done)
        check("100%" in out.stderr, out.stderr)
        r = subprocess.run([c.bin("hamyarctl"), "import", path, "--agency", "nobody", "--date", LIST_DATE],
                           env=env, capture_output=True, text=True, timeout=60)
        eq(r.returncode, 1)
        check("unknown_agency" in r.stderr, r.stderr)


def test_export_csv_round_trip():
    """GET /v1/persons as CSV (BOM, the import's Persian headers, Jalali dates) and that file
    imported back: nothing changes but the referrals the agency had not made."""
    pop = _people(40)
    with Cluster(["registry"], env=ENV) as c:
        _agencies(c)
        rows, data, _ = _list_a(pop)
        _wait(c, _send(c, "behzisti", data)["id"])
        hand = [_ok(c.post("/v1/persons", person(700 + i)), "by hand", 201) for i in range(2)]
        r = c.get("/v1/persons?office=rey-1", headers={"Accept": "text/csv"})
        eq(r.status, 200, f"{r}")
        check(r.headers.get("Content-Type", "").startswith("text/csv"), r.headers)
        check(r.raw.startswith(b"\xef\xbb\xbf"), r.raw[:10])
        lines = r.raw.decode("utf-8-sig").split("\r\n")
        eq(lines[0].split(",")[:4], ["کد ملی", "نام", "نام خانوادگی", "تاریخ تولد"])
        body_rows = [ln for ln in lines[1:] if ln]
        eq(len(body_rows), 32, "every person of the office, not one page:")
        mine = [ln for ln in body_rows if ln.startswith(pop[1]["nid"] + ",")]
        eq(len(mine), 1, body_rows[:3])
        check(pop[1]["birth"] in mine[0] and ",زن," in mine[0], mine[0])
        back = _wait(c, _send(c, "behzisti", r.raw)["id"])
        eq(back["counts"], {"created": 0, "referral_added": 2, "updated": 0, "possible_duplicate": 0,
                            "invalid": 0, "unchanged": 30}, f"{back}")
        p = _ok(c.get(f"/v1/persons/{hand[0]['id']}"), "hand")
        eq([ref.get("agency") for ref in p["referrals"]], [None, "بهزیستی"])
        eq(c.get("/v1/persons?limit=2").json["next_cursor"] is not None, True, "JSON stays paged")


def test_export_csv_larger_than_cap_comes_out_whole():
    """A filtered list bigger than HY_CSV_MAX_BYTES is not refused: it comes out in pages of at
    most that many bytes, each naming the next in a Link header (rel="next"), the first with the
    BOM and the header row, the others rows only, so the pages laid end to end are the whole
    file. The filter travels in the link."""
    cap = 4000
    with Cluster(["registry"], env={**ENV, "HY_CSV_MAX_BYTES": str(cap)}) as c:
        made = [_ok(c.post("/v1/persons", person(900 + i, city="ری")), "by hand", 201)
                for i in range(70)]
        other = _ok(c.post("/v1/persons", person(990, city="تهران")), "other city", 201)
        url, pages = "/v1/persons?office=rey-1&q=" + "%D8%A7%D8%AD%D9%85%D8%AF%DB%8C", []
        while url and len(pages) < 50:
            r = c.get(url, headers={"Accept": "text/csv"})
            eq(r.status, 200, f"page {len(pages) + 1}: {r}")
            check(len(r.raw) <= cap, f"page of {len(r.raw)} bytes over the cap of {cap}")
            pages.append(r.raw)
            link = r.headers.get("Link") or ""
            check(not link or link.endswith('>; rel="next"') and link.startswith("</v1/persons?"),
                  link)
            url = link[1:link.index(">")] if link else None
        check(len(pages) > 2, f"{len(pages)} pages: the list should not fit one")
        check(pages[0].startswith(b"\xef\xbb\xbf") and
              not any(p.startswith(b"\xef\xbb\xbf") for p in pages[1:]), "one BOM, first page")
        lines = b"".join(pages).decode("utf-8-sig").split("\r\n")
        eq(lines[0].split(",")[0], "کد ملی")
        eq(sum(1 for ln in lines if ln.startswith("کد ملی,")), 1, "one header row")
        ids = [ln.split(",")[0] for ln in lines[1:] if ln]
        eq(sorted(ids), sorted(p["national_id"] for p in made + [other]),
           "every person of the filter exactly once")
        # the link keeps the filter: a national-ID filter gives that one person and no link
        r = c.get(f"/v1/persons?format=csv&national_id={made[5]['national_id']}")
        eq(r.status, 200, f"{r}")
        eq(r.headers.get("Link"), None, "a list that fits has no next page")
        eq([ln.split(",")[0] for ln in r.raw.decode("utf-8-sig").split("\r\n")[1:] if ln],
           [made[5]["national_id"]])


def test_row_refused_inside_a_batch_leaves_nothing():
    """Rows are applied several to a nested transaction. A row the domain refuses after the spec
    passed it (a neighbourhood the office does not cover, a birth date in the future) rolls its
    batch back, and the batch's rows are applied again one by one: the refused rows leave no
    person and no event, the others end as they would alone, and a national ID repeated inside
    the same batch finds the person the earlier row created."""
    pop = _people(20)
    rows = [_row(p) for p in pop[:18]]
    rows.insert(3, _row(pop[18], neighbourhood="محله‌ای‌دیگر"))   # batch 1: refused by the office
    rows.insert(5, _row(pop[0]))                                  # batch 1: row 1 again
    rows.insert(12, _row(pop[19], birth="1450/01/01"))            # batch 2: born in the future
    lines = []
    for r in rows:
        lines.append(json.dumps({"national_id": r["nid"], "first_name": r["first"],
                                 "last_name": r["last"], "birth_date": r["birth"], "sex": "female",
                                 "neighbourhood": r["neighbourhood"], "mobile": r["mobile"],
                                 "household_size": r["household_size"]}, ensure_ascii=False))
    with Cluster(["registry"], env=ENV) as c:
        _agencies(c)
        imp = _wait(c, _send(c, "behzisti", ("\n".join(lines) + "\n").encode())["id"])
        eq(imp["counts"], {"created": 18, "referral_added": 0, "updated": 0,
                           "possible_duplicate": 0, "invalid": 2, "unchanged": 1}, f"{imp}")
        bad = {r["line"]: (r["code"], r["field"]) for r in _rows(c, imp["id"], "invalid")}
        eq(bad, {4: ("neighbourhood_not_in_office", "neighbourhood"),
                 13: ("invalid_birth_date", "birth_date")})
        eq([r["line"] for r in _rows(c, imp["id"], "unchanged")], [6])
        for p in pop[18:]:
            eq(c.get(f"/v1/persons?national_id={p['nid']}").json["items"], [], "refused: no person")
        made = {r["person_id"] for r in _rows(c, imp["id"], "created")}
        evs = [e for e in c.events_since("registry") if e["type"] == "registry.person.registered"]
        eq(sorted(e["subject"] for e in evs), sorted(made), "one event per created row, no other")
        check(all(e["data"].get("import_id") == imp["id"] for e in evs), evs[:1])
