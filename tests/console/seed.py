"""Test data for the console tests, made through the public API as an office would: two offices'
social-services keys (rey-1, rey-2), a second key per office (the loan's checker), persons with
businesses, a disbursed loan and a requested enrolment in each office."""
import time

from harness import check, eq, person

TODAY = "2025-07-15"   # 1404/04/24: inside the enrolment window, fiscal year 1404


def _ok(r, status, what):
    eq(r.status, status, f"{what}: {r}")
    return r.json


def office_data(c, office, n0):
    """What one office's screens need; returns a dict of ids."""
    key, checker = f"ss-{office}", f"ck-{office}"
    out = {"key": key}
    pid = _ok(c.post("/v1/persons", person(n0, office=office, first_name="فاطمه",
                                            last_name=f"کریمی{n0}"), key=key), 201, "person")["id"]
    bid = _ok(c.post("/v1/businesses", {"owner_id": pid, "activity": "خیاطی", "field": "handicrafts",
                                        "stage": "developing"}, key=key), 201, "business")["id"]
    prod = _ok(c.post("/v1/loan-products", {"name": f"قرض‌الحسنه {office}", "kind": "individual",
                                            "fee_rate_bp": 400, "term_months": 12,
                                            "fee_method": "flat"}, key=key), 201, "product")["id"]
    lid = _ok(c.post("/v1/loans", {"person_id": pid, "business_id": bid, "product_id": prod,
                                   "amount_rials": 120000000, "purpose": "چرخ خیاطی"}, key=key),
              201, "loan")["id"]
    _ok(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "سارا",
                                             "recommended_amount_rials": 120000000}, key=key),
        200, "appraise")
    _ok(c.post(f"/v1/loans/{lid}/approve", {}, key=checker), 200, "approve")
    r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 120000000, "date": TODAY},
               key=key)
    check(r.status in (200, 201), f"disburse: {r}")
    pid2 = _ok(c.post("/v1/persons", person(n0 + 1, office=office, first_name="زهرا",
                                             last_name=f"رضایی{n0}"), key=key), 201, "person 2")["id"]
    bid2 = _ok(c.post("/v1/businesses", {"owner_id": pid2, "activity": "کشاورزی",
                                         "field": "agriculture"}, key=key), 201, "business 2")["id"]
    eid = _ok(c.post("/v1/enrolments", {"person_id": pid2, "business_id": bid2,
                                        "field": "agriculture", "start_date": "2025-07-01"},
                     key=key), 201, "enrolment")["id"]
    out.update(person=pid, business=bid, loan=lid, person2=pid2, enrolment=eid, product=prod)
    return out


def seed(c):
    """Keys and records of both offices; returns {office: ids}."""
    for office in ("rey-1", "rey-2"):
        c.keys[f"ss-{office}"] = c.make_key("social_services", office=office, key_id=f"ss-{office}")
        c.keys[f"ck-{office}"] = c.make_key("social_services", office=office, key_id=f"ck-{office}")
    time.sleep(1.2)   # the gateway rereads its keys file at most once a second
    # The agency whose list the import screen brings in (agencies are data; an operator adds them).
    r = c.post("/v1/agencies", {"code": "behzisti", "name": "بهزیستی"}, key="operator")
    check(r.status in (201, 409), f"agency: {r}")
    return {"rey-1": office_data(c, "rey-1", 500), "rey-2": office_data(c, "rey-2", 600)}
