"""Issue 15 "Done means" and issue 16 counting rule 1 for the other services: the half-year report
follows every void, correction, transfer and merge the loans, micro-fund, networks and insurance
services publish, by the date each took effect, in two offices; a person's timeline keeps a voided
fact, marked voided (DHIS2's audit keeps a deleted event readable).

Every expected figure is computed here from what the test recorded (a product with no fee, so a
repayment is all principal), never read back from a service."""
import time

from harness import Cluster, check, eq, person
from test_microfund import RULES

CLOCK = "2025-07-15"            # 1404/04/24: half 1404/1 is in progress (2025-03-21..today)
HALF = "year=1404&half=1"
LOANS = ["registry", "loans", "reporting"]
OTHERS = ["registry", "microfund", "networks", "insurance", "reporting"]
ITEM = "مانتو"


def _ok(r, what, status=(200, 201, 202)):
    check(r.status in ((status,) if isinstance(status, int) else status), f"{what}: {r}")
    return r.json


def _keys(c):
    keys = {"b": c.make_key("social_services", office="rey-2", key_id="office-b"),
            "p": c.make_key("social_services", office="*", key_id="province"),
            "chk": c.make_key("social_services", office=None, key_id="checker")}
    c.keys["province"] = keys["p"]
    time.sleep(1.2)   # the gateway rereads its keys file at most once a second
    return keys


def _person(c, n, key="social_services"):
    return _ok(c.post("/v1/persons", person(n), key=key), f"person {n}")["id"]


def _business(c, owner, field, key="social_services"):
    return _ok(c.post("/v1/businesses", {"owner_id": owner, "activity": "خیاطی", "field": field,
                                         "stage": "developing"},
                      key=key), "business")["id"]


def _heads(c):
    return {s: (c.events_since(s) or [{"seq": 0}])[-1]["seq"] for s in c.services if s != "reporting"}


def _report(c, office=None):
    """The half-year report once reporting has applied every event published so far."""
    heads, deadline = _heads(c), time.time() + 60
    url = f"/v1/reports/half-year?{HALF}" + (f"&office={office}" if office else "")
    while time.time() < deadline:
        r = c.get(url, key="province")
        if r.status == 200 and all(r.json["as_of"][s]["seq"] >= h for s, h in heads.items()):
            return r.json["indicators"]
        time.sleep(0.1)
    raise AssertionError(f"reporting did not catch up with {heads}: {r}")


def _by_field(c):
    """insurance_enrolled per field over the half (the indicators table grouped by field)."""
    _report(c)
    t = _ok(c.get("/v1/reports/indicators?from=2025-03-21&to=2025-07-15&group_by=field", key="province"),
            "by field")
    return {g["key"]: g["indicators"]["insurance_enrolled"] for g in t["groups"]}


def _figures(c, names):
    out = {}
    for office in (None, "rey-1", "rey-2"):
        ind = _report(c, office)
        out[office or "all"] = {n: ind[n] for n in names}
    return out


def _loan(c, owner, bus, prod, amount, key, chk, disburse_on):
    lid = _ok(c.post("/v1/loans", {"person_id": owner, "business_id": bus, "product_id": prod,
                                   "amount_rials": amount, "applied_on": "2025-04-01"}, key=key),
              "apply")["id"]
    _ok(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S", "date": "2025-04-02",
                                             "recommended_amount_rials": amount}, key=key), "appraise")
    _ok(c.post(f"/v1/loans/{lid}/approve", {"date": "2025-04-03"}, key=chk), "approve")
    _ok(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": amount, "date": disburse_on}, key=key),
        "disburse")
    return lid


def _void(c, path, key, chk, reason="entered by mistake"):
    """Maker-checker: key asks, chk approves."""
    _ok(c.post(path, {"reason": reason}, key=key), f"ask {path}", 202)
    return _ok(c.post(path + "/approve", {}, key=chk), f"approve {path}", 200)


def _wait_event(c, service, type, **data):
    """Until service has published an event of type whose data has those members (a follower's
    answer to a registry change is asynchronous)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        if any(e["type"] == type and all(e["data"].get(k) == v for k, v in data.items())
               for e in c.events_since(service)):
            return
        time.sleep(0.2)
    raise AssertionError(f"{service} published no {type} {data}")


def _timeline(c, pid, types):
    _report(c)
    evs = _ok(c.get(f"/v1/persons/{pid}/timeline", key="province"), "timeline")["events"]
    return [e for e in evs if e["type"] in types]


LOAN_FIGURES = ["loans_disbursed_rials", "loans_outstanding_rials", "par30_rials", "people_with_loans"]


def _first_loan(c, k):
    """A fee-free 12-month product (each repayment all principal) and rey-1's first borrower's
    loan of 12,000,000 rials disbursed on 2025-04-10: (product, person, loan)."""
    prod = _ok(c.post("/v1/loan-products", {"name": "qard", "kind": "individual", "fee_rate_bp": 0,
                                            "term_months": 12, "fee_method": "flat"}), "product")["id"]
    a = _person(c, 1)
    la = _loan(c, a, _business(c, a, "handicrafts"), prod, 12_000_000, "social_services", k["chk"],
               "2025-04-10")
    return prod, a, la


def test_loan_voids_move_the_report():
    """A repayment voided: outstanding principal up by it and the loan at risk again (its oldest
    unpaid installment is over 30 days past due on the report's last day); the only tranche of a
    rey-2 loan voided: its money and its borrower leave the report."""
    with Cluster(LOANS, clock=CLOCK) as c:
        k = _keys(c)
        prod, a, la = _first_loan(c, k)
        for amount, date in ((1_000_000, "2025-05-11"), (1_000_000, "2025-06-11")):
            _ok(c.post(f"/v1/loans/{la}/repayments", {"amount_rials": amount, "date": date}), "repay")
        b = _person(c, 2, key=k["b"])
        lb = _loan(c, b, _business(c, b, "handicrafts", key=k["b"]), prod, 6_000_000, k["b"], k["chk"],
                   "2025-05-01")
        # A: installments of 1,000,000 due monthly from 1404/02/21 (2025-05-11): two are paid,
        # the third falls due on 2025-07-12, 3 days before the report's last day: not at risk.
        # B: nothing paid of an installment due about 2025-06-01: over 30 days past due.
        r1 = {"loans_disbursed_rials": 12_000_000, "loans_outstanding_rials": 10_000_000,
              "par30_rials": 0, "people_with_loans": 1}
        r2 = {"loans_disbursed_rials": 6_000_000, "loans_outstanding_rials": 6_000_000,
              "par30_rials": 6_000_000, "people_with_loans": 1}
        eq(_figures(c, LOAN_FIGURES), {"all": {"loans_disbursed_rials": 18_000_000,
                                               "loans_outstanding_rials": 16_000_000,
                                               "par30_rials": 6_000_000, "people_with_loans": 2},
                                       "rey-1": r1, "rey-2": r2}, "before the voids:")
        _void(c, f"/v1/loans/{la}/repayments/2/void", "social_services", k["chk"])
        _void(c, f"/v1/loans/{lb}/disbursements/1/void", k["b"], k["chk"])
        # the second installment (due 2025-06-11) is now the oldest unpaid: 34 days past due
        r1 = {"loans_disbursed_rials": 12_000_000, "loans_outstanding_rials": 11_000_000,
              "par30_rials": 11_000_000, "people_with_loans": 1}
        r2 = {"loans_disbursed_rials": 0, "loans_outstanding_rials": 0, "par30_rials": 0,
              "people_with_loans": 0}
        eq(_figures(c, LOAN_FIGURES), {"all": r1, "rey-1": r1, "rey-2": r2}, "after the voids:")
        ind = _report(c)
        eq(ind["par30_bp"], 10000, "every rial outstanding is at risk:")
        # the voided repayment stays on her timeline, marked voided; the other one does not
        reps = _timeline(c, a, {"loans.loan.repayment_recorded"})
        eq([(e["date"], bool(e.get("voided"))) for e in reps],
           [("2025-05-11", False), ("2025-06-11", True)], "the timeline keeps the voided fact:")
        # the registry's own voids are kept and marked the same way
        act = _ok(c.post("/v1/activities", {"kind": "counselling", "date": "2025-06-01", "office": "rey-1",
                                             "person_ids": [a]}), "counselling")["id"]
        eq(_report(c)["people_counselled"], 1)
        _ok(c.post(f"/v1/activities/{act}/void", {"reason": "ثبت اشتباه"}), "void the activity")
        eq(_report(c)["people_counselled"], 0)
        acts = _timeline(c, a, {"registry.activity.recorded"})
        eq([(e["subject"], e.get("voided"), e.get("void_reason")) for e in acts],
           [(act, True, "ثبت اشتباه")], "the voided activity on her timeline:")
        # recorded again (the correct date this time): the report takes it
        _ok(c.post(f"/v1/loans/{la}/repayments", {"amount_rials": 1_000_000, "date": "2025-07-01"}), "repay")
        _ok(c.post(f"/v1/loans/{lb}/disburse", {"amount_rials": 6_000_000, "date": "2025-06-01"}, key=k["b"]),
            "disburse again")
        # A has paid two installments again; B's first is due about 2025-07-01: none at risk
        eq(_figures(c, LOAN_FIGURES)["all"],
           {"loans_disbursed_rials": 18_000_000, "loans_outstanding_rials": 16_000_000,
            "par30_rials": 0, "people_with_loans": 2}, "recorded again:")


def test_fund_network_and_insurance_voids_move_the_report():
    """A fund meeting voided (maker-checker) takes its savings out; a training voided takes its
    session and the members only it trained; a delivery voided leaves network_deliveries; an
    enrolment's field corrected moves its request to the new field; an insured person
    transferred counts as insured in her new office from the transfer date; a membership
    follows a merge so the survivor's leaving ends it."""
    with Cluster(OTHERS, clock=CLOCK) as c:
        k = _keys(c)
        # --- a fund of rey-1: two meetings, two trainings ---
        m1, m2 = _person(c, 11), _person(c, 12)
        fid = _ok(c.post("/v1/funds", {"name": "صندوق گل‌ها", "neighbourhood": "شهرری",
                                       "facilitator_person_id": m1,
                                       "cycle": {"start": "2025-03-21", "end": "2026-03-20"},
                                       "rules": RULES}), "fund")["id"]
        for p in (m1, m2):
            _ok(c.post(f"/v1/funds/{fid}/members", {"person_id": p, "joined": "2025-03-25"}), "join")
        for date, shares in (("2025-04-15", 2), ("2025-05-15", 1)):
            _ok(c.post(f"/v1/funds/{fid}/meetings", {"date": date, "attendance": [m1, m2],
                                                     "savings": [{"person_id": p, "shares": shares}
                                                                 for p in (m1, m2)]}), "meeting")
        for date, part in (("2025-04-20", [m1]), ("2025-05-20", [m1, m2])):
            _ok(c.post(f"/v1/funds/{fid}/trainings", {"date": date, "participants": part}), "training")
        # --- a network of rey-1: two members, two deliveries ---
        lead = _person(c, 20)
        net = _ok(c.post("/v1/networks", {"name": "شبکه پوشاک", "field": "industry", "activity": "clothing",
                                          "lead_person_id": lead,
                                          "lead_business_id": _business(c, lead, "industry")}), "net")["id"]
        n1, n2, n3, n4, n5 = (_person(c, i) for i in range(21, 26))
        for p in (n1, n2, n4, n5):
            _ok(c.post(f"/v1/networks/{net}/members", {"person_id": p, "role": "producer",
                                                       "joined": "2025-04-01"}), "join")
        buyer = _ok(c.post("/v1/buyers", {"name": "فروشگاه", "kind": "shop"}), "buyer")["id"]
        order = _ok(c.post(f"/v1/networks/{net}/orders", {"buyer_id": buyer, "due_date": "2025-09-01",
                                                          "items": [{"item": ITEM, "quantity": 10,
                                                                     "unit_price_rials": 1_000_000}]}),
                    "order")["id"]
        entries = []
        for p in (n1, n2):
            _ok(c.post(f"/v1/orders/{order}/assignments", {"person_id": p, "item": ITEM, "quantity": 4}),
                "assign")
            entries.append(_ok(c.post(f"/v1/orders/{order}/deliveries",
                                      {"person_id": p, "item": ITEM, "accepted": 2, "rejected": 0,
                                       "date": "2025-06-01"}), "deliver")["entry"])
        # --- insurance of rey-1: one request, one insured person ---
        w1 = _person(c, 31)
        e1 = _ok(c.post("/v1/enrolments", {"person_id": w1, "business_id": _business(c, w1, "services"),
                                           "field": "services", "start_date": "2025-07-20"}), "enrol")["id"]
        w2 = _person(c, 32)
        e2 = _ok(c.post("/v1/enrolments", {"person_id": w2, "business_id": _business(c, w2, "services"),
                                           "field": "services", "start_date": "2025-07-20"}), "enrol")["id"]
        for step in ("approve", "submit"):
            _ok(c.post(f"/v1/enrolments/{e2}/{step}"), step)
        _ok(c.post(f"/v1/enrolments/{e2}/confirm", {"insurance_number": "1234567890"},
                   key="insurance_fund"), "confirm")
        names = ["fund_savings_rials", "fund_training_sessions", "fund_members_trained",
                 "network_deliveries", "network_members_active", "insured_at_end"]
        before = _figures(c, names)
        eq(before["rey-1"], {"fund_savings_rials": 60_000, "fund_training_sessions": 2,
                             "fund_members_trained": 2, "network_deliveries": 2,
                             "network_members_active": 4, "insured_at_end": 1}, "rey-1 before:")
        eq(before["rey-2"]["insured_at_end"], 0)
        eq(_by_field(c).get("services"), 2, "both requests in services:")

        _void(c, f"/v1/funds/{fid}/meetings/2025-05-15/void", "social_services", k["chk"])
        _ok(c.post(f"/v1/funds/{fid}/trainings/2/void", {"reason": "another fund's session"}), "training void")
        _ok(c.post(f"/v1/networks/{net}/ledger/{entries[1]}/void", {"reason": "x"}, key=k["chk"]),
            "delivery void")
        agri = _business(c, w1, "agriculture")
        _ok(c.patch(f"/v1/enrolments/{e1}", {"business_id": agri, "field": "agriculture",
                                             "reason": "her other business"}), "correct")
        _ok(c.post(f"/v1/persons/{w2}/transfer", {"office": "rey-2", "date": "2025-07-10"}), "transfer")
        # n1 was recorded twice: merged into n3, who then leaves the network
        _ok(c.post(f"/v1/persons/{n1}/merge", {"into": n3}), "merge")
        deadline = time.time() + 20
        while time.time() < deadline:
            r = c.post(f"/v1/networks/{net}/members/{n3}/leave", {"date": "2025-07-01"})
            if r.status in (200, 201):
                break
            time.sleep(0.2)
        _ok(r, "the survivor leaves")
        # n4 and n5, both members, are one woman: one membership from the merge on
        _ok(c.post(f"/v1/persons/{n4}/merge", {"into": n5}), "merge of two members")
        _wait_event(c, "networks", "networks.network.member_merged", merged_from=n4)
        _wait_event(c, "insurance", "insurance.enrolment.transferred", enrolment_id=e2)

        after = _figures(c, names)
        eq(after["rey-1"], {"fund_savings_rials": 40_000, "fund_training_sessions": 1,
                            "fund_members_trained": 1, "network_deliveries": 1,
                            "network_members_active": 2, "insured_at_end": 0}, "rey-1 after:")
        eq(after["rey-2"]["insured_at_end"], 1, "insured in her new office:")
        eq(after["all"], after["rey-1"] | {"insured_at_end": 1}, "all offices after:")
        fields = _by_field(c)
        eq((fields.get("services"), fields.get("agriculture")), (1, 1), "the corrected request moved:")
        # the timeline keeps the voided facts, marked
        sv = _timeline(c, m2, {"microfund.saving_recorded", "microfund.training_held"})
        eq([(e["type"], e["date"], bool(e.get("voided"))) for e in sv],
           [("microfund.saving_recorded", "2025-04-15", False),
            ("microfund.saving_recorded", "2025-05-15", True),
            ("microfund.training_held", "2025-05-20", True)], "m2's timeline:")
        dv = _timeline(c, n2, {"networks.network.delivery_recorded"})
        eq([bool(e.get("voided")) for e in dv], [True], "n2's voided delivery:")


def _indicators(c, to):
    _report(c)
    return _ok(c.get(f"/v1/reports/indicators?from=2025-03-21&to={to}", key="province"), "table")["total"]


def test_backdated_repayment_and_merged_borrower():
    """A repayment recorded late with its real (earlier) date counts from that date, so the
    outstanding principal of a day between the two is right; a loan of a record merged into
    another follows the survivor, so a void of its tranche takes the survivor out of
    people_with_loans."""
    with Cluster(LOANS, clock=CLOCK) as c:
        k = _keys(c)
        prod, a, la = _first_loan(c, k)
        _ok(c.post(f"/v1/loans/{la}/repayments", {"amount_rials": 1_000_000, "date": "2025-06-11"}), "repay")
        eq(_indicators(c, "2025-07-15")["par30_rials"], 11_000_000, "one installment paid: at risk")
        _ok(c.post(f"/v1/loans/{la}/repayments", {"amount_rials": 1_000_000, "date": "2025-05-11"}),
            "the earlier receipt, recorded late")
        eq(_indicators(c, "2025-05-20")["loans_outstanding_rials"], 11_000_000,
           "on 2025-05-20 only the 2025-05-11 repayment was made:")
        eq(_indicators(c, "2025-07-15")["loans_outstanding_rials"], 10_000_000)
        eq(_indicators(c, "2025-07-15")["par30_rials"], 0, "two installments paid: not at risk")
        # the same woman registered twice: her loan is on the duplicate
        dup = _person(c, 2)
        p2 = person(3)
        p2["national_id"] = person(4)["national_id"]
        keep = _ok(c.post("/v1/persons", p2), "the other record")["id"]
        lb = _loan(c, dup, _business(c, dup, "handicrafts"), prod, 6_000_000, "social_services", k["chk"],
                   "2025-07-01")
        eq(_indicators(c, "2025-07-15")["people_with_loans"], 2)
        _ok(c.post(f"/v1/persons/{dup}/merge", {"into": keep}), "merge")
        deadline = time.time() + 20
        while time.time() < deadline and _ok(c.get(f"/v1/loans/{lb}"), "loan")["person_id"] != keep:
            time.sleep(0.2)
        eq(_indicators(c, "2025-07-15")["people_with_loans"], 2, "the survivor has the loan")
        _void(c, f"/v1/loans/{lb}/disbursements/1/void", "social_services", k["chk"])
        got = _indicators(c, "2025-07-15")
        eq((got["people_with_loans"], got["loans_disbursed_rials"]), (1, 12_000_000),
           "the survivor's only tranche voided:")
