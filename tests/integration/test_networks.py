"""The networks service through the real gateway, broker and registry: leads, members and the
jobs rule, the ledger's refusals (each with its code, nothing changed), concurrent payments that
would overpay, a registry that is down, and kill -9 during a stream of deliveries."""
import signal
import threading
import time

from harness import Cluster, check, eq, person, recv_events

DAY = "2024-06-01"


def _person(c, n):
    r = c.post("/v1/persons", person(n))
    eq(r.status, 201, f"person {n}: {r}")
    return r.json["id"]


def _lead(c, n):
    """A registered person with a registered business: (person id, business id)."""
    pid = _person(c, n)
    r = c.post("/v1/businesses", {"owner_id": pid, "activity": "خیاطی", "field": "industry"})
    eq(r.status, 201, f"business: {r}")
    return pid, r.json["id"]


def _network(c, lead, business, **over):
    body = {"name": "شبکه پوشاک", "field": "industry", "activity": "clothing",
            "lead_person_id": lead, "lead_business_id": business}
    body.update(over)
    r = c.post("/v1/networks", body)
    eq(r.status, 201, f"network: {r}")
    return r.json


def _join(c, net, pid, joined="2024-05-01"):
    return c.post(f"/v1/networks/{net}/members", {"person_id": pid, "role": "producer",
                                                  "joined": joined, "skills": ["دوخت"]})


def _order(c, net, buyer, items):
    r = c.post(f"/v1/networks/{net}/orders", {"buyer_id": buyer, "due_date": "2024-09-01",
                                              "items": items})
    eq(r.status, 201, f"order: {r}")
    return r.json["id"]


def _pay(c, net, amount, order=None, member=None):
    body = {"amount_rials": amount, "date": DAY}
    if member:
        body.update(direction="to_member", person_id=member)
    else:
        body.update(direction="from_buyer", order_id=order)
    return c.post(f"/v1/networks/{net}/payments", body)


def _deliver(c, order, pid, item, accepted, rejected=0, timeout=15):
    return c.post(f"/v1/orders/{order}/deliveries", {"person_id": pid, "item": item,
                                                     "accepted": accepted, "rejected": rejected,
                                                     "date": DAY}, timeout=timeout)


def _ledger(c, net):
    out, cursor = [], None
    for _ in range(1000):
        r = c.get(f"/v1/networks/{net}/ledger?limit=500" + (f"&cursor={cursor}" if cursor else ""))
        eq(r.status, 200, f"ledger: {r}")
        out += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            return out
    raise AssertionError("ledger never ended")


def test_network_flow_and_events():
    with Cluster(["registry", "networks"]) as c:
        sub = c.subscribe("networks")
        lead, bus = _lead(c, 1)
        # Created at once after the registry acknowledged the lead: the service syncs.
        net = _network(c, lead, bus)
        eq(net["lead_person_id"], lead)
        eq(net["office"], "rey-1")
        members = [_person(c, n) for n in range(2, 6)]
        act = c.post("/v1/activities", {"kind": "job_created", "date": "2024-03-01",
                                        "person_ids": [members[3]]})
        eq(act.status, 201, f"activity: {act}")
        jobs = []
        for pid in members:
            r = _join(c, net["id"], pid)
            eq(r.status, 201, f"join: {r}")
            jobs.append(r.json["job_created"])
        eq(jobs, [True, True, True, False], "the registry's job is not counted twice:")
        other = _network(c, lead, bus, name="second")
        r = _join(c, other["id"], members[0])
        eq(r.json["job_created"], False, "a second network is no new job:")

        shop = c.post("/v1/buyers", {"name": "فروشگاه دست‌آفرین", "kind": "shop"})
        eq(shop.status, 201)
        order = _order(c, net["id"], shop.json["id"],
                       [{"item": "مانتو", "quantity": 6, "unit_price_rials": 1_250_000}])
        for pid in members[:3]:
            eq(c.post(f"/v1/orders/{order}/assignments",
                      {"person_id": pid, "item": "مانتو", "quantity": 2}).status, 201)
        for pid in members[:3]:
            eq(_deliver(c, order, pid, "مانتو", 2).status, 201)
        o = c.get(f"/v1/orders/{order}").json
        eq(o["status"], "fulfilled")
        eq(_pay(c, net["id"], 7_500_000, order=order).status, 201)
        eq(_pay(c, net["id"], 1_750_000, member=members[0]).status, 201)
        g = c.get(f"/v1/networks/{net['id']}", key="auditor")
        eq(g.status, 200)
        f = g.json["figures"]
        eq((f["members"], f["active_members"], f["orders_open"], f["orders_fulfilled"]),
           (4, 4, 0, 1))
        eq((f["income_rials"], f["paid_to_members_rials"], f["balance_rials"]),
           (7_500_000, 1_750_000, 5_750_000))
        eq(f["owed_to_members_rials"], 3 * 1_750_000 - 1_750_000)
        st = c.get(f"/v1/networks/{net['id']}/members/{members[0]}/statement").json
        eq(st["balance_rials"], 0)
        eq([e["kind"] for e in st["entries"]], ["delivery", "payment"])
        eq(len(c.get(f"/v1/networks?lead_person_id={lead}").json["items"]), 2)
        eq(len(c.get("/v1/networks?field=agriculture").json["items"]), 0)
        page = c.get(f"/v1/networks/{net['id']}/members?limit=3").json
        eq(len(page["items"]), 3)
        check(page["next_cursor"], "a second page of members")

        evs = c.events_since("networks")
        types = [t for t, _ in recv_events(sub, len(evs), timeout=5)]
        eq(len(types), len(evs), "every event published:")
        for want in ("networks.network.created", "networks.network.member_joined",
                     "networks.network.order_placed", "networks.network.delivery_recorded",
                     "networks.network.order_fulfilled", "networks.network.payment_recorded"):
            check(want in types, f"{want} published: {types}")
        eq([e["seq"] for e in evs], list(range(1, len(evs) + 1)), "gapless:")
        for e in evs:
            if e["type"].startswith("networks.network."):
                d = e["data"]
                check(d.get("network_id") and d.get("office") == "rey-1" and d.get("field"),
                      f"grouping keys in {e['type']}: {d}")
        created = [e for e in evs if e["type"] == "networks.network.created"]
        eq(created[0]["data"]["lead_person_id"], lead)
        oa = c.get("/v1/openapi.json", key=None).json
        check("/v1/networks/{id}/members/{person_id}/statement" in oa["paths"], "OpenAPI")


def test_refusals_change_nothing():
    with Cluster(["registry", "networks"]) as c:
        lead, bus = _lead(c, 10)
        stranger, _ = _lead(c, 11)
        net = _network(c, lead, bus)["id"]
        pid = _person(c, 12)
        eq(_join(c, net, pid).status, 201)
        shop = c.post("/v1/buyers", {"name": "نمایشگاه", "kind": "exhibition"}).json["id"]
        order = _order(c, net, shop, [{"item": "عروسک", "quantity": 10, "unit_price_rials": 3333}])
        eq(c.post(f"/v1/orders/{order}/assignments",
                  {"person_id": pid, "item": "عروسک", "quantity": 4}).status, 201)
        eq(_deliver(c, order, pid, "عروسک", 3).status, 201)   # owed floor(9999 × 0.7) = 6999

        before = (len(c.events_since("networks")), c.get(f"/v1/networks/{net}").json,
                  c.get(f"/v1/orders/{order}").json)
        cases = [
            (c.post("/v1/networks", {"name": "x", "field": "services", "activity": "x",
                                     "lead_person_id": stranger, "lead_business_id": bus}),
             422, "business_not_owned", "lead_business_id"),
            (c.post("/v1/networks", {"name": "x", "field": "services", "activity": "x",
                                     "lead_person_id": "prs_999", "lead_business_id": bus}),
             422, "unknown_person", "lead_person_id"),
            (_join(c, net, "prs_999"), 422, "unknown_person", "person_id"),
            (_join(c, net, pid), 409, "already_member", "person_id"),
            (c.post(f"/v1/orders/{order}/assignments",
                    {"person_id": pid, "item": "عروسک", "quantity": 7}), 422, "over_ordered",
             "quantity"),
            (c.post(f"/v1/orders/{order}/assignments",
                    {"person_id": stranger, "item": "عروسک", "quantity": 1}), 422,
             "not_a_member", "person_id"),
            (_deliver(c, order, pid, "عروسک", 1, 1), 422, "over_assigned", "accepted"),
            (_deliver(c, order, stranger, "عروسک", 1), 422, "not_assigned", "person_id"),
            (_pay(c, net, 33331, order=order), 422, "over_order_value", "amount_rials"),
            (_pay(c, net, 7000, member=pid), 422, "overpayment", "amount_rials"),
            (_pay(c, net, 6999, member=pid), 422, "insufficient_network_cash", "amount_rials"),
            (c.post("/v1/buyers", {"name": "b", "kind": "network"}), 422, "missing_network_id",
             "network_id"),
            (c.post(f"/v1/networks/{net}/orders",
                    {"buyer_id": shop, "due_date": "2024-09-01", "items": []}), 422, "no_items",
             "items"),
            (c.post(f"/v1/networks/{net}/payments", {"direction": "sideways", "amount_rials": 1,
                                                    "date": DAY}), 400, "invalid_field",
             "direction"),
            (c.get("/v1/orders/ord_999"), 404, "not_found", None),
        ]
        for r, status, code, field in cases:
            eq(r.status, status, f"{code}: {r}")
            eq(r.headers.get("Content-Type", "").split(";")[0], "application/problem+json")
            eq(r.json["code"], code, f"{r}")
            if field:
                eq(r.json.get("field"), field, f"{code} field:")
        after = (len(c.events_since("networks")), c.get(f"/v1/networks/{net}").json,
                 c.get(f"/v1/orders/{order}").json)
        eq(after, before, "no refusal changed anything:")


def test_concurrent_member_payments_never_overpay():
    with Cluster(["registry", "networks"]) as c:
        lead, bus = _lead(c, 20)
        net = _network(c, lead, bus, member_share_bp=10000)["id"]
        pid = _person(c, 21)
        eq(_join(c, net, pid).status, 201)
        shop = c.post("/v1/buyers", {"name": "صادرکننده", "kind": "exporter"}).json["id"]
        order = _order(c, net, shop, [{"item": "فرش", "quantity": 1, "unit_price_rials": 10_000_000}])
        eq(c.post(f"/v1/orders/{order}/assignments",
                  {"person_id": pid, "item": "فرش", "quantity": 1}).status, 201)
        eq(_deliver(c, order, pid, "فرش", 1).status, 201)
        eq(_pay(c, net, 10_000_000, order=order).status, 201)
        results = []
        lock = threading.Lock()

        def payer():
            r = _pay(c, net, 2_000_000, member=pid)
            with lock:
                results.append((r.status, (r.json or {}).get("code")))
        threads = [threading.Thread(target=payer) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        eq(sorted(s for s, _ in results).count(201), 5, f"exactly what was owed: {results}")
        eq({code for s, code in results if s != 201}, {"overpayment"})
        st = c.get(f"/v1/networks/{net}/members/{pid}/statement").json
        eq((st["paid_rials"], st["balance_rials"]), (10_000_000, 0))
        f = c.get(f"/v1/networks/{net}").json["figures"]
        eq(f["income_rials"], f["paid_to_members_rials"] + f["balance_rials"])


def test_registry_down_unknown_person_is_422_after_the_deadline():
    with Cluster(["registry", "networks"], env={"HY_PARK_MS": "1500"}) as c:
        lead, bus = _lead(c, 30)
        net = _network(c, lead, bus)["id"]
        known = _person(c, 31)
        time.sleep(1.5)   # the follow loop applies the registration on its own
        c.kill("registry")
        time.sleep(3.6)   # the broker forgets a worker silent for 3 s and answers 503 at once
        r = _join(c, net, "prs_999")
        eq(r.status, 422, f"unknown person while the registry is down, after the deadline: {r}")
        eq(r.json["code"], "unknown_person")
        eq(r.json["field"], "person_id")
        r = _join(c, net, known)
        eq(r.status, 201, f"a person already known is joined without the registry: {r}")


def test_stalled_registry_delays_no_request_for_a_known_person():
    """The registry is stopped (SIGSTOP: its worker still looks alive to the broker, and answers
    nothing). A request naming an unknown person is parked, not waited for: a request for a
    known person sent after it is answered first; the parked one is refused 422 unknown_person
    at its deadline. Ordering, not timing."""
    with Cluster(["registry", "networks"], env={"HY_PARK_MS": "2500"}) as c:
        lead, bus = _lead(c, 40)
        net = _network(c, lead, bus)["id"]   # registered, then used at once
        known = [_person(c, 41), _person(c, 42)]
        eq(_join(c, net, known[0]).status, 201, "networks knows the registered persons")
        reg = c.procs["registry"]
        reg.send_signal(signal.SIGSTOP)
        try:
            parked = {}

            def unknown():
                parked["r"] = _join(c, net, "prs_999")

            t = threading.Thread(target=unknown)
            t.start()
            time.sleep(0.3)   # sent first (what follows holds whenever it arrives)
            r = _join(c, net, known[1])
            done_first = "r" not in parked
            eq(r.status, 201, f"a known person while the registry is stalled: {r}")
            check(done_first, f"the known person waited for the unknown one: {parked}")
            t.join(30)
            eq(parked["r"].status, 422, f"the parked request at its deadline: {parked['r']}")
            eq(parked["r"].json["code"], "unknown_person")
        finally:
            reg.send_signal(signal.SIGCONT)


def test_kill9_during_deliveries_loses_nothing_acknowledged():
    with Cluster(["registry", "networks"]) as c:
        lead, bus = _lead(c, 40)
        net = _network(c, lead, bus)["id"]
        shop = c.post("/v1/buyers", {"name": "دست‌آفرین", "kind": "shop"}).json["id"]
        workers = [_person(c, 41 + w) for w in range(4)]
        order = _order(c, net, shop, [{"item": "گلیم", "quantity": 100_000, "unit_price_rials": 7}])
        for pid in workers:
            eq(_join(c, net, pid).status, 201)
            eq(c.post(f"/v1/orders/{order}/assignments",
                      {"person_id": pid, "item": "گلیم", "quantity": 25_000}).status, 201)
        acked = {pid: [] for pid in workers}
        stop = threading.Event()

        def deliverer(pid):
            tries = 0
            while tries < 2000:
                if stop.is_set():
                    return
                try:
                    r = _deliver(c, order, pid, "گلیم", 1, timeout=5)
                except OSError:
                    time.sleep(0.05)
                    continue
                if r.status == 503:   # the service is down: not a try (never delivered)
                    time.sleep(0.05)
                    continue
                tries += 1
                if r.status == 201:
                    acked[pid].append(r.json["entry"])
        threads = [threading.Thread(target=deliverer, args=(pid,)) for pid in workers]
        for t in threads:
            t.start()
        time.sleep(1.0)
        c.kill("networks")
        n_at_kill = sum(len(v) for v in acked.values())
        c.start_proc("networks")
        deadline = time.time() + 10   # the broker drops the dead worker within 3 s
        while time.time() < deadline and sum(len(v) for v in acked.values()) < n_at_kill + 50:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        c.wait_ready()
        total = sum(len(v) for v in acked.values())
        check(n_at_kill > 20, f"deliveries were acknowledged before the kill ({n_at_kill})")
        check(total >= n_at_kill + 50, f"and after the restart ({total - n_at_kill})")
        entries = _ledger(c, net)
        by_entry = {e["entry"]: e for e in entries}
        for pid, nums in acked.items():
            missing = [n for n in nums if n not in by_entry]
            eq(missing, [], f"acknowledged deliveries of {pid} survive:")
            for n in nums:
                eq(by_entry[n]["person_id"], pid)
        for pid in workers:
            st = c.get(f"/v1/networks/{net}/members/{pid}/statement?limit=1").json
            mine = sum(1 for e in entries if e.get("person_id") == pid)
            eq(st["accepted_quantity"], mine, f"{pid}'s record agrees with the ledger:")
            check(mine >= len(acked[pid]), "no acknowledged delivery lost")
        o = c.get(f"/v1/orders/{order}").json
        eq(o["items"][0]["accepted"], len(entries))
        eq(o["accepted_value_rials"], 7 * len(entries))
        f = c.get(f"/v1/networks/{net}").json["figures"]
        eq(f["delivered_value_rials"], 7 * len(entries))
        evs = c.events_since("networks")
        eq([e["seq"] for e in evs], list(range(1, len(evs) + 1)), "gapless sequence:")
        delivered = {e["data"]["entry"] for e in evs
                     if e["type"] == "networks.network.delivery_recorded"}
        eq(delivered, set(by_entry), "one event per ledger entry:")
