"""Insurance enrolment and the fund's feed, end to end: gateway -> insurance -> outbox -> the
ZeroMQ and HTTP feeds -> hamyar-fund-sync, with kill -9 of the service and of the consumer.

The guarantee under test: the fund's consumer ends up with exactly the events of every
acknowledged enrolment, in sequence order, each once, whatever was killed when.
"""
import json
import os
import random
import threading
import time

from harness import BUILD, Cluster, check, eq, person, recv_events

FIELDS = ["agriculture", "industry", "handicrafts", "services"]
# Start dates must lie near the request (HY_INSURANCE_BACKDATE_MONTHS): the clock is fixed.
TODAY = "2025-07-15"
# What the fund may see of a person (the event's data), and what it must never see.
FUND_FIELDS = {"enrolment_id", "national_id", "first_name", "last_name", "birth_date",
               "birth_date_jalali", "sex", "field", "start_date", "start_date_jalali", "status",
               "insurance_number", "office", "contribution", "refusal"}
PRIVATE = {"mobile", "province", "city", "neighbourhood", "household_size", "head_of_household",
           "dependants", "referrals", "skills", "needs", "disability"}


def _register(c, n, base=0, threads=16, deadline=None):
    """Registers n persons, each with one home business; returns [(person_id, business_id,
    field)] in order. Concurrent, as offices register in bulk."""
    out = [None] * n
    deadline = deadline or time.time() + 240
    errors = []

    def work(w):
        for i in range(w, n, threads):
            k = base + i
            field = FIELDS[k % 4]
            while time.time() < deadline:
                p = c.post("/v1/persons", person(100000 + k), timeout=10)
                if p.status == 409:   # a retry after a lost reply
                    pid = p.json["existing_id"]
                elif p.status == 201:
                    pid = p.json["id"]
                else:
                    time.sleep(0.05)
                    continue
                b = c.post("/v1/businesses", {"owner_id": pid, "activity": "خیاطی", "field": field},
                           headers={"Idempotency-Key": f"bus-{k}"}, timeout=10)
                if b.status == 201:
                    out[i] = (pid, b.json["id"], field)
                    break
                time.sleep(0.05)
            else:
                errors.append(k)
                return

    ts = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors and all(out), f"registration did not finish: {len(errors)} left")
    return out


def _enrol(c, who, start="2025-07-01", **kw):
    pid, bid, field = who
    return c.post("/v1/enrolments", {"person_id": pid, "business_id": bid, "field": field,
                                     "start_date": start}, **kw)


def _read_lines(path):
    """The JSON lines of a consumer's output file (a partial last line counts as an error)."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    check(not data or data.endswith(b"\n"), f"{path} ends in a partial line")
    return [json.loads(line) for line in data.splitlines()]


def _fund_sync(c, tag, args):
    return c.start_proc("fund-sync", args, tag=tag)


def test_eligibility_and_wrong_state_over_http():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        a, b = _register(c, 2)
        young = c.post("/v1/persons", person(7, birth_date="2010-01-01")).json["id"]
        ybus = c.post("/v1/businesses", {"owner_id": young, "activity": "x", "field": "services"}).json["id"]
        before = len(c.events_since("insurance"))
        cases = [
            (("prs_999", a[1], a[2]), "unknown_person"),
            ((a[0], "bus_999", a[2]), "unknown_business"),
            ((a[0], b[1], b[2]), "business_not_owned"),
            ((a[0], a[1], FIELDS[(FIELDS.index(a[2]) + 1) % 4]), "field_mismatch"),
            ((young, ybus, "services"), "age_out_of_range"),
        ]
        for who, code in cases:
            r = _enrol(c, who)
            eq(r.status, 422, f"{code}: {r}")
            eq(r.json["code"], code)
            eq(r.headers.get("Content-Type", "").split(";")[0], "application/problem+json")
        eq(len(c.events_since("insurance")), before, "no event for a refused request:")
        r = _enrol(c, a)
        eq(r.status, 201, f"{r}")
        eid = r.json["id"]
        dup = _enrol(c, a)
        eq((dup.status, dup.json["code"], dup.json["existing_id"]), (422, "already_enrolled", eid))
        for path, body, key in [("submit", None, "social_services"),
                                ("confirm", {"insurance_number": "N-1"}, "insurance_fund"),
                                ("reinstate", None, "social_services"),
                                ("suspend", {"reason": "x"}, "social_services")]:
            r = c.post(f"/v1/enrolments/{eid}/{path}", body, key=key)
            eq((r.status, r.json["code"]), (409, "wrong_state"), f"{path} on requested:")
        eq(c.get(f"/v1/enrolments/{eid}").json["status"], "requested", "nothing changed:")
        eq(c.post(f"/v1/enrolments/{eid}/confirm", {"insurance_number": "N-1"}).status, 403,
           "only the fund confirms:")
        eq(c.post(f"/v1/enrolments/{eid}/approve").status, 200)
        eq(c.post(f"/v1/enrolments/{eid}/submit").status, 200)
        for _ in range(2):   # the fund's confirmation, delivered twice
            r = c.post(f"/v1/enrolments/{eid}/confirm", {"insurance_number": "N-1"}, key="insurance_fund")
            eq((r.status, r.json["status"], r.json["insurance_number"]), (200, "confirmed", "N-1"))
        r = c.post(f"/v1/enrolments/{eid}/confirm", {"insurance_number": "N-2"}, key="insurance_fund")
        eq((r.status, r.json["code"]), (409, "wrong_state"))
        types = [e["type"] for e in c.events_since("insurance")]
        eq(types.count("insurance.enrolment.confirmed"), 1, "one confirmation in effect:")
        r = c.post(f"/v1/enrolments/{eid}/contributions", {"month": "2025-07", "amount_rials": 100,
                                                           "subsidy_rials": 70, "person_rials": 31})
        eq((r.status, r.json["code"]), (422, "contribution_mismatch"))


def test_just_registered_is_never_refused_and_one_enrolment_per_person():
    """The registry acknowledged it a moment ago: insurance catches up before refusing."""
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        for i in range(20):
            who = _register(c, 1, base=500 + i, threads=1)[0]
            r = _enrol(c, who)
            eq(r.status, 201, f"enrolment right after registration #{i}: {r}")
        who = _register(c, 1, base=900, threads=1)[0]
        results = []
        lock = threading.Lock()

        def go():
            r = _enrol(c, who)
            with lock:
                results.append((r.status, (r.json or {}).get("code")))
        ts = [threading.Thread(target=go) for _ in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        eq(sorted(results).count((201, None)), 1, f"exactly one of 20 concurrent requests: {results}")
        eq(sum(1 for s, code in results if (s, code) == (422, "already_enrolled")), 19)


def test_http_feed_equals_zmq_feed_and_long_poll():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        sub = c.subscribe("insurance")
        people = _register(c, 6)
        ids = [_enrol(c, w).json["id"] for w in people]
        for eid in ids[:3]:
            eq(c.post(f"/v1/enrolments/{eid}/approve").status, 200)
        eq(c.post(f"/v1/enrolments/{ids[4]}/cancel", {"reason": "moved away"}).status, 200)
        pub = [ev for _, ev in recv_events(sub, 10)]
        since = c.events_since("insurance")
        http = c.get("/v1/feeds/enrolments?after=0&limit=1000", key="insurance_fund")
        eq(http.status, 200, f"{http}")
        eq(http.json["events"], since, "HTTP feed == events.since:")
        eq(pub, since, "ZeroMQ PUB == events.since:")
        eq(http.json["last_seq"], 10)
        page = c.get("/v1/feeds/enrolments?after=4&limit=3", key="operator").json
        eq([e["seq"] for e in page["events"]], [5, 6, 7])
        dflt = c.get("/v1/feeds/enrolments", key="insurance_fund").json
        eq(len(dflt["events"]), 10)
        # Long poll: the answer comes as soon as an event exists, not after the wait.
        got = {}

        def poll():
            t0 = time.time()
            got["r"] = c.get("/v1/feeds/enrolments?after=10&wait=5", key="insurance_fund", timeout=20)
            got["t"] = time.time() - t0
        t = threading.Thread(target=poll)
        t.start()
        time.sleep(1.0)
        eq(c.post(f"/v1/enrolments/{ids[5]}/approve").status, 200)
        t.join()
        r = got["r"]
        eq(r.status, 200, f"{r}")
        eq([e["seq"] for e in r.json["events"]], [11],
           "LONG POLL (gateway support being added by the lead): the new event:")
        check(1.0 <= got["t"] < 4.0, f"LONG POLL: answered {got['t']:.2f} s after asking (< 5 s wait)")
        t0 = time.time()
        r = c.get("/v1/feeds/enrolments?after=11&wait=2", key="insurance_fund", timeout=20)
        eq((r.status, r.json["events"]), (200, []))
        check(1.5 <= time.time() - t0 < 4.5, "LONG POLL: an empty answer after the wait")


def test_feed_roles_and_privacy():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        people = _register(c, 3)
        for w in people:
            eq(_enrol(c, w).status, 201)
        for key, status in [("social_services", 403), ("auditor", 403), (None, 401),
                            ("insurance_fund", 200), ("operator", 200)]:
            eq(c.get("/v1/feeds/enrolments?after=0", key=key).status, status, f"feed for {key}:")
        events = c.get("/v1/feeds/enrolments?after=0", key="insurance_fund").json["events"]
        eq(len(events), 3)
        for ev in events:
            keys = set(ev["data"])
            eq(keys & PRIVATE, set(), "no private field in the fund's event:")
            check(keys <= FUND_FIELDS, f"only the fund's fields: {sorted(keys - FUND_FIELDS)}")
            eq(len(ev["data"]["national_id"]), 10)
        eq(c.get(f"/v1/enrolments/{events[0]['subject']}", key="insurance_fund").status, 403)


def test_fund_sync_exactly_once_through_kill9():
    """10,000 enrolments through the gateway (1,000 under ASan, which is ~10x slower) while the
    insurance service and two consumers — one on ZeroMQ, one on HTTP — are killed with kill -9
    at random (seeded) moments and restarted. At the end each consumer's file holds exactly the
    events 1..last_seq, in order, once each; every acknowledged enrolment's requested event is
    there; and the two files are identical."""
    n = 1000 if "asan" in BUILD else 10000
    rnd = random.Random(20241125)
    with Cluster(["registry", "insurance"], env={"HY_LOG_LEVEL": "warn"}, clock=TODAY) as c:
        t_start = time.time()
        people = _register(c, n, threads=16)
        t_reg = time.time() - t_start
        files = {tag: (os.path.join(c.dir, tag + ".jsonl"), os.path.join(c.dir, tag + ".state"))
                 for tag in ("fund-sync-zmq", "fund-sync-http")}
        url = f"http://127.0.0.1:{c.http_port}"
        argv = {
            "fund-sync-zmq": ["--zmq-broker", c.broker, "--zmq-pub", c.env["HY_PUB_INSURANCE"]],
            "fund-sync-http": ["--http", url, "--key", c.keys["insurance_fund"], "--wait", "5"],
        }

        def start(tag):
            out, state = files[tag]
            _fund_sync(c, tag, argv[tag] + ["--state", state, "--out", out])

        for tag in files:
            start(tag)
        acked = [None] * n
        done = threading.Event()
        deadline = time.time() + 200

        def writer(w, threads):
            for i in range(w, n, threads):
                while time.time() < deadline:
                    try:
                        r = _enrol(c, people[i], headers={"Idempotency-Key": f"enrol-{i}"}, timeout=10)
                    except OSError:
                        r = None
                    if r is not None and r.status == 201:
                        acked[i] = r.json["id"]
                        break
                    time.sleep(0.1)   # 503/504 while the service restarts: ask again, same key

        writers = [threading.Thread(target=writer, args=(w, 16)) for w in range(16)]
        for t in writers:
            t.start()

        kills = {"insurance": 0, "fund-sync-zmq": 0, "fund-sync-http": 0}

        def chaos():
            _chaos(c, kills, start, rnd, done, 15, (0.3, 1.5), 0.7)
        chaos_t = threading.Thread(target=chaos)
        chaos_t.start()
        for t in writers:
            t.join()
        done.set()
        chaos_t.join()
        t_enrol = time.time() - t_start - t_reg
        check(all(acked), f"{sum(1 for a in acked if not a)} enrolments never acknowledged")
        check(min(kills.values()) >= 1, f"each process was killed at least once: {kills}")
        # One last kill -9 of each consumer in the middle of catching up, then let them finish.
        time.sleep(0.3)
        for tag in files:
            c.kill(tag)
            start(tag)
        c.wait_ready()
        truth = c.events_since("insurance")
        last = truth[-1]["seq"]
        eq([e["seq"] for e in truth], list(range(1, last + 1)), "the outbox is gapless:")
        wait_until = time.time() + 90
        while time.time() < wait_until:
            if all(_count_lines(files[t][0]) >= last for t in files):
                break
            time.sleep(0.5)
        for tag, (out, _) in files.items():
            lines = _read_lines(out)
            eq([e["seq"] for e in lines], list(range(1, last + 1)), f"{tag}: 1..{last} once each:")
            check(lines == truth, f"{tag}: the events are the outbox's, unchanged")
            requested = {e["subject"] for e in lines if e["type"] == "insurance.enrolment.requested"}
            eq(set(acked) - requested, set(), f"{tag}: every acknowledged enrolment is there:")
        with open(files["fund-sync-zmq"][0], "rb") as a, open(files["fund-sync-http"][0], "rb") as b:
            check(a.read() == b.read(), "the ZeroMQ and HTTP consumers wrote the same bytes")
        print(f"    ({n} enrolments; registration {t_reg:.0f} s, enrolment {t_enrol:.0f} s, "
              f"kills {kills}, {last} events)")


def _chaos(c, kills, start, rnd, done, most, pause, restart_after):
    """Kills (kill -9) and restarts the processes named in kills until done is set or most
    kills have happened: rounds of the victims in a seeded random order, so any three kills in
    a row hit each process once. The first round comes quickly (0.2-0.8 s apart), so that even
    a short ASan run has it all; then pause = (min, max) seconds between kills. start(tag)
    restarts a consumer."""
    order = []
    # the first round is always completed, even when the work ends before it
    while (not done.is_set() or min(kills.values()) < 1) and sum(kills.values()) < most:
        time.sleep(rnd.uniform(0.2, 0.8) if sum(kills.values()) < 3 else rnd.uniform(*pause))
        if not order:
            order = rnd.sample(sorted(kills), len(kills))
        victim = order.pop()
        c.kill(victim)
        kills[victim] += 1
        time.sleep(rnd.uniform(0.0, restart_after))
        if victim == "insurance":
            c.start_proc("insurance")
        else:
            start(victim)


def _enrol_all(c, people, threads=8):
    """Enrols every one of people concurrently (retrying through a restart); returns the ids."""
    ids = [None] * len(people)
    deadline = time.time() + 120

    def work(w):
        for i in range(w, len(people), threads):
            while ids[i] is None and time.time() < deadline:
                try:
                    r = _enrol(c, people[i], headers={"Idempotency-Key": f"e-{people[i][0]}"})
                except OSError:
                    r = None
                if r is not None and r.status == 201:
                    ids[i] = r.json["id"]
                else:
                    time.sleep(0.1)
    ts = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(all(ids), "every enrolment acknowledged")
    return ids


def _wait_lines(path, n, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline and _count_lines(path) < n:
        time.sleep(0.2)
    return _count_lines(path)


def test_fund_sync_command_resumes_after_being_offline():
    """The consumer runs a command per event, is stopped (SIGTERM: exit 0), stays away while
    1,100 enrolments happen (more than one page of the feed) and the insurance service is
    killed and restarted, then comes back — over HTTP this time, with the same cursor — and
    hands on exactly what it missed."""
    with Cluster(["registry", "insurance"], env={"HY_LOG_LEVEL": "warn"}, clock=TODAY) as c:
        people = _register(c, 1200)
        _enrol_all(c, people[:100])
        seqs, events = os.path.join(c.dir, "seqs"), os.path.join(c.dir, "events")
        cmd = f'cat >> {events} && echo "$HY_EVENT_SEQ $HY_EVENT_TYPE" >> {seqs}'
        state = ["--state", os.path.join(c.dir, "fund-state"), "--exec", cmd]
        p = _fund_sync(c, "fund-sync", ["--zmq-broker", c.broker,
                                        "--zmq-pub", c.env["HY_PUB_INSURANCE"]] + state)
        eq(_wait_lines(seqs, 100), 100, "the first hundred handed on:")
        p.send_signal(15)
        eq(p.wait(timeout=10), 0, "SIGTERM: exit 0")
        _enrol_all(c, people[100:600])
        c.kill("insurance")
        c.start_proc("insurance")
        c.wait_ready()
        _enrol_all(c, people[600:])
        _fund_sync(c, "fund-sync", ["--http", f"http://127.0.0.1:{c.http_port}",
                                    "--key", c.keys["insurance_fund"], "--wait", "5"] + state)
        eq(_wait_lines(seqs, 1200), 1200, "caught up after being away:")
        time.sleep(0.5)
        with open(seqs) as f:
            got = [line.split() for line in f.read().splitlines()]
        eq([int(s) for s, _ in got], list(range(1, 1201)), "each sequence once, in order:")
        check(all(t == "insurance.enrolment.requested" for _, t in got), "HY_EVENT_TYPE set")
        eq(_read_lines(events), c.events_since("insurance"), "the command read each event whole:")


def _count_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0
