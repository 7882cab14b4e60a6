"""Records an office can run on, networks part (issue 15): offices as boundaries on networks and
everything under them, deliveries and payments voided (maker-checker) with every figure
following, dates as they happened, memberships following a merge of two persons."""
import time

from harness import Cluster, check, eq, person, ok as _ok, refused as _refused

DAY = "2024-06-01"
ITEM = "مانتو"


def _keys(c):
    keys = {"b": c.make_key("social_services", office="rey-2"),
            "p": c.make_key("social_services", office="*"),
            "a2": c.make_key("social_services", office="rey-1")}
    time.sleep(1.2)  # the gateway rereads its keys file at most once a second
    return keys


def _person(c, n, key="social_services"):
    return _ok(c.post("/v1/persons", person(n), key=key), f"person {n}")["id"]


def _network(c, n, key="social_services"):
    lead = _person(c, n, key)
    bus = _ok(c.post("/v1/businesses", {"owner_id": lead, "activity": "خیاطی", "field": "industry"},
                     key=key), "business")["id"]
    return _ok(c.post("/v1/networks", {"name": "شبکه پوشاک", "field": "industry", "activity": "clothing",
                                       "lead_person_id": lead, "lead_business_id": bus}, key=key),
               "network")


def _join(c, net, pid, key="social_services", joined="2024-05-01"):
    return c.post(f"/v1/networks/{net}/members", {"person_id": pid, "role": "producer",
                                                  "joined": joined}, key=key)


def _working(c, n, members, key="social_services"):
    """A network with members, an order of 10 units at 1,000,000 rials, 4 assigned to each."""
    net = _network(c, n, key)["id"]
    pids = [_person(c, n + 1 + i, key) for i in range(members)]
    for pid in pids:
        _ok(_join(c, net, pid, key), "join")
    buyer = _ok(c.post("/v1/buyers", {"name": "فروشگاه", "kind": "shop"}, key=key), "buyer")["id"]
    order = _ok(c.post(f"/v1/networks/{net}/orders", {"buyer_id": buyer, "due_date": "2024-09-01",
                                                      "items": [{"item": ITEM, "quantity": 10,
                                                                 "unit_price_rials": 1_000_000}]},
                       key=key), "order")["id"]
    for pid in pids:
        _ok(c.post(f"/v1/orders/{order}/assignments", {"person_id": pid, "item": ITEM, "quantity": 4},
                   key=key), "assign")
    return net, pids, order


def _deliver(c, order, pid, accepted, key="social_services", date=DAY):
    return c.post(f"/v1/orders/{order}/deliveries", {"person_id": pid, "item": ITEM, "accepted": accepted,
                                                     "rejected": 0, "date": date}, key=key)


def _pay(c, net, amount, order=None, member=None, key="social_services"):
    body = {"amount_rials": amount, "date": DAY}
    if member:
        body.update(direction="to_member", person_id=member)
    else:
        body.update(direction="from_buyer", order_id=order)
    return c.post(f"/v1/networks/{net}/payments", body, key=key)


def _void(c, net, entry, key, reason="entered by mistake"):
    return c.post(f"/v1/networks/{net}/ledger/{entry}/void", {"reason": reason}, key=key)


def test_network_office_scoping_matrix():
    with Cluster(["registry", "networks"]) as c:
        k = _keys(c)
        net, pids, order = _working(c, 10, 2, key=k["b"])
        d = _ok(_deliver(c, order, pids[0], 2, key=k["b"]), "B's delivery")
        mine = _network(c, 20)
        lead_b = _person(c, 30, key=k["b"])
        bus_b = _ok(c.post("/v1/businesses", {"owner_id": lead_b, "activity": "x", "field": "industry"},
                           key=k["b"]), "b")["id"]
        stranger = _person(c, 31, key=k["b"])
        before = len(c.events_since("networks"))
        seen = c.get(f"/v1/networks/{net}", key=k["b"]).json
        writes = [
            ("POST", "/v1/networks", {"name": "x", "field": "industry", "activity": "x", "office": "rey-2",
                                      "lead_person_id": lead_b, "lead_business_id": bus_b}),
            ("PATCH", f"/v1/networks/{net}", {"name": "تغییر"}),
            ("POST", f"/v1/networks/{net}/members", {"person_id": stranger, "role": "producer",
                                                     "joined": "2024-05-01"}),
            ("POST", f"/v1/networks/{net}/members/{pids[1]}/leave", {"date": DAY}),
            ("POST", f"/v1/networks/{net}/orders", {"buyer_id": "buy_1", "due_date": "2024-09-01",
                                                    "items": [{"item": "x", "quantity": 1,
                                                               "unit_price_rials": 1}]}),
            ("POST", f"/v1/orders/{order}/assignments", {"person_id": pids[1], "item": ITEM, "quantity": 1}),
            ("POST", f"/v1/orders/{order}/deliveries", {"person_id": pids[1], "item": ITEM, "accepted": 1,
                                                        "rejected": 0, "date": DAY}),
            ("POST", f"/v1/networks/{net}/payments", {"direction": "from_buyer", "order_id": order,
                                                      "amount_rials": 1, "date": DAY}),
            ("POST", f"/v1/networks/{net}/ledger/{d['entry']}/void", {"reason": "x"}),
        ]
        for method, path, body in writes:
            r = c.request(method, path, body=body)
            eq((r.status, (r.json or {}).get("code")), (403, "other_office"), f"A's key: {method} {path}: {r}")
        eq(len(c.events_since("networks")), before, "no refused write left an event:")
        eq(c.get(f"/v1/networks/{net}", key=k["b"]).json, seen, "B's network unchanged:")
        for path in (f"/v1/networks/{net}", f"/v1/networks/{net}/members", f"/v1/networks/{net}/ledger",
                     f"/v1/orders/{order}", f"/v1/networks/{net}/orders",
                     f"/v1/networks/{net}/members/{pids[0]}/statement"):
            _refused(c.get(path), 403, "other_office")
        eq([n["id"] for n in _ok(c.get("/v1/networks"), "A's list")["items"]], [mine["id"]])
        _refused(c.get("/v1/networks?office=rey-2"), 403, "other_office", "office")
        eq(sorted(n["id"] for n in _ok(c.get("/v1/networks", key=k["p"]), "all")["items"]),
           sorted([net, mine["id"]]))
        _ok(c.patch(f"/v1/networks/{net}", {"name": "شبکه استان"}, key=k["p"]), "the province writes B's")


def test_deliveries_and_payments_voided_with_every_figure():
    with Cluster(["registry", "networks"]) as c:
        k = _keys(c)
        net, (m1, m2), order = _working(c, 40, 2)
        d1 = _ok(_deliver(c, order, m1, 4), "m1 delivers all 4")
        d2 = _ok(_deliver(c, order, m2, 2), "m2 delivers 2")
        p_in = _ok(_pay(c, net, 6_000_000, order=order), "the buyer pays")
        p_out = _ok(_pay(c, net, 2_800_000, member=m1), "m1 is paid")
        figures = c.get(f"/v1/networks/{net}").json["figures"]
        eq((figures["delivered_value_rials"], figures["balance_rials"]), (6_000_000, 3_200_000))
        # refusals: the recording key, a paid delivery, a buyer's payment the network has spent
        _refused(_void(c, net, p_out["entry"], "social_services"), 422, "same_approver")
        _refused(_void(c, net, d1["entry"], k["a2"]), 409, "already_paid")
        _refused(c.post(f"/v1/networks/{net}/ledger/999/void", {"reason": "x"}, key=k["a2"]), 404, "not_found")
        _refused(c.post(f"/v1/networks/{net}/ledger/{d2['entry']}/void", {}, key=k["a2"]), 400, "missing_field",
                 "reason")
        before = len(c.events_since("networks"))
        v = _ok(_void(c, net, p_out["entry"], k["a2"], "paid twice by mistake"), "void m1's payment")
        eq((v["voided"], v["void_reason"]), (True, "paid twice by mistake"))
        _refused(_void(c, net, p_out["entry"], k["a2"]), 409, "voided")
        v2 = _ok(_void(c, net, d2["entry"], k["a2"]), "void m2's delivery")
        eq(v2["voided"], True)
        st = c.get(f"/v1/networks/{net}/members/{m2}/statement").json
        eq((st["balance_rials"], st["earned_rials"], st["accepted_quantity"]), (0, 0, 0))
        eq([(e["kind"], e.get("voided", False)) for e in st["entries"]], [("delivery", True)])
        st1 = c.get(f"/v1/networks/{net}/members/{m1}/statement").json
        eq((st1["balance_rials"], st1["paid_rials"]), (2_800_000, 0), "m1 is owed again:")
        o = c.get(f"/v1/orders/{order}").json
        eq((o["items"][0]["accepted"], o["accepted_value_rials"]), (4, 4_000_000))
        row = [a for a in o["assignments"] if a["person_id"] == m2][0]
        eq(row["accepted"], 0, "m2's units can be delivered again:")
        f = c.get(f"/v1/networks/{net}").json["figures"]
        eq((f["delivered_value_rials"], f["earned_by_members_rials"], f["paid_to_members_rials"],
            f["owed_to_members_rials"], f["income_rials"], f["balance_rials"]),
           (4_000_000, 2_800_000, 0, 2_800_000, 6_000_000, 6_000_000))
        evs = c.events_since("networks")[before:]
        eq([e["type"] for e in evs], ["networks.network.payment_voided", "networks.network.delivery_voided"])
        eq((evs[0]["data"]["id"], evs[0]["data"]["reason"], evs[0]["data"]["before"]["amount_rials"]),
           (p_out["entry"], "paid twice by mistake", 2_800_000))
        check(evs[1]["data"]["office"] == "rey-1" and evs[1]["data"]["network_id"] == net, evs[1])
        # a buyer's payment: voided while the network holds it; not once it is paid out
        _ok(_pay(c, net, 2_800_000, member=m1), "m1 paid again")
        _refused(_void(c, net, p_in["entry"], k["a2"]), 409, "insufficient_network_cash")
        ledger = c.get(f"/v1/networks/{net}/ledger?limit=100").json["items"]
        eq(sum(1 for e in ledger if e.get("voided")), 2, "voided entries stay readable:")
        _ok(_deliver(c, order, m2, 4), "m2's units delivered again after the void")
        audit = _ok(c.get(f"/v1/audit?entity={net}", key="auditor"), "audit")["items"]
        check("networks.network.delivery_voided" in [a["type"] for a in audit], audit)


def test_dates_as_they_happened():
    with Cluster(["registry", "networks"]) as c:
        net = _network(c, 60)["id"]
        pid = _person(c, 61)
        _refused(_join(c, net, pid, joined="2013-05-01"), 422, "before_programme_start", "joined")
        _refused(_join(c, net, pid, joined="2099-05-01"), 422, "future_date", "joined")
        m = _ok(c.post(f"/v1/networks/{net}/members", {"person_id": pid, "role": "producer",
                                                       "joined_jalali": "1402/02/11"}), "join in Jalali")
        eq((m["joined"], m["joined_jalali"]), ("2023-05-01", "1402/02/11"))
        net2, (m,), order = _working(c, 62, 1)
        _refused(_deliver(c, order, m, 1, date="2024-04-30"), 422, "date_out_of_order", "date")
        _ok(_deliver(c, order, m, 1, date="2024-05-01"), "delivered on the day she joined")
        _refused(c.post(f"/v1/networks/{net}/payments", {"direction": "from_buyer", "order_id": "ord_1",
                                                         "amount_rials": 1, "date": "2010-01-01"}),
                 422, "before_programme_start", "date")


def test_merge_repoints_memberships():
    """Two records of one woman, each a member: the merged id's membership belongs to the
    survivor, with its work and ledger; two memberships of one network become one."""
    with Cluster(["registry", "networks"]) as c:
        net, (m1, m2), order = _working(c, 70, 2)
        other = _network(c, 80)["id"]
        _ok(_join(c, other, m2), "m2 also in another network")
        _ok(_deliver(c, order, m2, 1), "m2 delivers")
        _ok(c.post(f"/v1/persons/{m2}/merge", {"into": m1}), "merge m2 into m1")
        deadline = time.time() + 15
        while time.time() < deadline:
            ids = [m["person_id"] for m in c.get(f"/v1/networks/{other}/members").json["items"]]
            if ids == [m1]:
                break
            time.sleep(0.2)
        eq(ids, [m1], "the other network's member is the survivor:")
        members = c.get(f"/v1/networks/{net}/members").json["items"]
        eq([m["person_id"] for m in members], [m1], "one membership of the network, not two:")
        st = _ok(c.get(f"/v1/networks/{net}/members/{m1}/statement"), "survivor's statement")
        eq((st["accepted_quantity"], st["earned_rials"]), (1, 700_000), "m2's delivery is hers:")
        eq([e["person_id"] for e in st["entries"]], [m1])
        _refused(c.get(f"/v1/networks/{net}/members/{m2}/statement"), 404, "not_found")
        eq(c.get(f"/v1/networks/{net}").json["figures"]["active_members"], 1)
        o = c.get(f"/v1/orders/{order}").json
        check(m2 not in str(o), f"no assignment left under the old id: {o}")
        r = _join(c, other, m2)
        _refused(r, 422, "person_merged", "person_id")
        eq(r.json["merged_into"], m1)
        evs = [e for e in c.events_since("networks") if e["type"] == "networks.network.member_merged"]
        eq(sorted(e["data"]["network_id"] for e in evs), sorted([net, other]))


def test_merge_repoints_the_lead():
    """A network whose lead is the merged record is led by the survivor, said by
    networks.network.lead_assigned as a change of lead by hand is."""
    with Cluster(["registry", "networks"]) as c:
        net = _network(c, 110)
        lead, survivor = net["lead_person_id"], _person(c, 111)
        _ok(c.post(f"/v1/persons/{lead}/merge", {"into": survivor}), "merge the lead")
        deadline, now = time.time() + 15, None
        while time.time() < deadline:
            now = c.get(f"/v1/networks/{net['id']}").json["lead_person_id"]
            if now == survivor:
                break
            time.sleep(0.2)
        eq(now, survivor, "the survivor leads the network:")
        evs = [e["data"] for e in c.events_since("networks")
               if e["type"] == "networks.network.lead_assigned"]
        eq([(e["lead_person_id"], e["previous_lead_person_id"]) for e in evs], [(survivor, lead)])


def test_audit_is_office_scoped():
    """GET /v1/audit (shared/outbox.c, every service): an auditor of one office audits that
    office's entities; another office's are 403 other_office; a province auditor sees all."""
    with Cluster(["registry", "networks"]) as c:
        aud_b = c.make_key("auditor", office="rey-2")
        aud_p = c.make_key("auditor", office="*")
        time.sleep(1.2)
        net = _network(c, 90)
        pid = net["lead_person_id"]
        for entity in (net["id"], pid):
            eq(_ok(c.get(f"/v1/audit?entity={entity}", key="auditor"), "own office")["items"][0]["seq"] > 0, True)
            _refused(c.get(f"/v1/audit?entity={entity}", key=aud_b), 403, "other_office", "entity")
            check(_ok(c.get(f"/v1/audit?entity={entity}", key=aud_p), "province")["items"], entity)


def test_kill9_while_voiding_loses_nothing_acknowledged():
    """Deliveries voided concurrently while the networks service is killed -9 and restarted:
    every acknowledged void has its event, each entry is voided iff its void event exists, the
    sequence is gapless, and the figures are what the live entries give."""
    import threading
    with Cluster(["registry", "networks"]) as c:
        k = _keys(c)
        net, pids, order = _working(c, 100, 2)
        entries = [_ok(c.post(f"/v1/orders/{order}/deliveries",
                              {"person_id": pid, "item": ITEM, "accepted": 0, "rejected": 1, "date": DAY}),
                       "a rejected unit")["entry"] for _ in range(4) for pid in pids]
        acked, lock = [], threading.Lock()

        def writer(w):
            for e in entries[w::2]:
                deadline = time.time() + 60
                while time.time() < deadline:
                    try:
                        r = c.post(f"/v1/networks/{net}/ledger/{e}/void", {"reason": "x"}, key=k["a2"],
                                   headers={"Idempotency-Key": f"void-{e}"}, timeout=5)
                    except OSError:
                        r = None
                    if r is not None and r.status == 200:
                        with lock:
                            acked.append(e)
                        break
                    time.sleep(0.05)
                time.sleep(0.05)

        ts = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
        for t in ts:
            t.start()
        time.sleep(0.1)
        c.kill("networks")
        n_at_kill = len(acked)
        check(any(t.is_alive() for t in ts), "the kill landed while voids were running")
        c.start_proc("networks")
        for t in ts:
            t.join()
        c.wait_serving("networks")
        check(n_at_kill < len(entries), f"voids were left for after the restart: {n_at_kill}")
        evs = c.events_since("networks")
        eq([e["seq"] for e in evs], list(range(1, len(evs) + 1)), "gapless:")
        voided = {e["data"]["id"] for e in evs if e["type"] == "networks.network.delivery_voided"}
        eq(sorted(acked), sorted(entries), "every void acknowledged in the end:")
        eq(voided, set(entries), "one void event per entry:")
        eq(sum(1 for e in evs if e["type"] == "networks.network.delivery_voided"), len(entries), "once each:")
        ledger = c.get(f"/v1/networks/{net}/ledger?limit=500").json["items"]
        eq({e["entry"] for e in ledger if e.get("voided")}, set(entries), "voided iff its event:")
        o = c.get(f"/v1/orders/{order}").json
        eq(o["items"][0]["rejected"], 0, "the voided rejected units are given back:")
