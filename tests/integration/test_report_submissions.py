"""Submitted reports and office targets have one owner, the registry: every reporting replica
answers the same bytes for a submission, whichever replica took it, and sees every office's
targets. Replicas are stopped and started in turn so that each request reaches the replica the
test means (the broker forgets a stopped worker within 3 s)."""
import hashlib
import json
import os
import signal
import time

from harness import Cluster, check, eq, person, refused

SUBS = "/v1/reports/half-year/submissions"


def _digest(doc):
    body = {k: v for k, v in doc.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _only(c, live, dead):
    """Stops replica `dead` (SIGTERM) and waits until `live` alone serves."""
    c.kill(dead, signal.SIGTERM)
    time.sleep(3.5)   # the broker forgets a silent worker after 3 s
    c.wait_serving("reporting")
    for _ in range(4):
        r = c.get("/v1/reports/half-year?year=1403&half=1")
        eq(r.status, 200, f"served by {live} alone")
        eq(r.json["replica"]["pid"], c.procs[live].pid, f"only {live} answers")


def _start(c, tag):
    args = [] if tag == "reporting" else ["--data", os.path.join(c.dir, tag), "--pub", "none"]
    c.start_proc("reporting", args, tag=tag)


def test_report_submission_and_targets_same_on_every_replica():
    with Cluster(["registry", "reporting"], clock="2024-08-01") as c:
        ids = [c.post("/v1/persons", person(7300 + i)).json["id"] for i in range(4)]
        r = c.post("/v1/activities", {"kind": "counselling", "date": "2024-05-05", "person_ids": ids[:3]})
        eq(r.status, 201, f"counselling: {r!r}")
        _start(c, "reporting-2")
        time.sleep(1)
        _only(c, "reporting", "reporting-2")
        # through replica 1
        sub = c.post(SUBS, {"year": 1403, "half": 1, "office": "rey-1"})
        eq(sub.status, 201, f"submit: {sub!r}")
        doc = sub.json
        eq(doc["digest"]["value"], _digest(doc), "SHA-256 over the canonical JSON")
        eq(sorted(doc["records"]["people_counselled"]), sorted(ids[:3]), "drill-down")
        # the drill-down at once, of the replica that took it (it waits for the owner's event)
        fig = c.get(f"{SUBS}/{doc['id']}/figures/people_counselled")
        eq((fig.status, sorted(fig.json.get("ids", []))), (200, sorted(ids[:3])), f"drill-down at once: {fig!r}")
        first = c.get(f"{SUBS}/{doc['id']}")
        eq(first.status, 200, f"read back: {first!r}")
        eq(first.json, doc, "the document answered by the POST is the one stored")
        targets = {"people_counselled": 12, "beneficiaries_new": 40}
        r = c.request("PUT", "/v1/offices/rey-1/targets", {"year": 1403, "half": 1, "targets": targets})
        eq((r.status, r.json.get("targets")), (200, targets), f"targets: {r!r}")
        # replica 2 alone: the same bytes, the same targets
        _start(c, "reporting-2")
        time.sleep(1)
        _only(c, "reporting-2", "reporting")
        again = c.get(f"{SUBS}/{doc['id']}")
        eq((again.status, again.raw), (200, first.raw), "the other replica answers the same bytes")
        fig = c.get(f"{SUBS}/{doc['id']}/figures/people_counselled")
        eq((fig.status, sorted(fig.json.get("ids", []))), (200, sorted(ids[:3])), f"drill-down there: {fig!r}")
        rep = c.get("/v1/reports/half-year?year=1403&half=1&office=rey-1")
        eq(rep.json.get("targets"), targets, "the other replica sees the targets")
        # the registry owns them: its events carry the canonical document and the targets
        evs = {e["type"]: e for e in c.events_since("registry")}
        check("registry.report.submitted" in evs and "registry.office.targets_set" in evs, "owner's events")
        eq(evs["registry.report.submitted"]["data"], doc, "the event carries the document")
        eq(evs["registry.report.submitted"]["subject"], doc["id"], "subject")
        eq(evs["registry.office.targets_set"]["data"]["targets"], targets, "targets event")
        audit = c.get(f"/v1/audit?entity={doc['id']}", key="auditor")
        eq(audit.status, 200, f"the owner keeps the submission's audit: {audit!r}")
        eq([a["type"] for a in audit.json["items"]], ["registry.report.submitted"], "audit")

        # a second submission through replica 2 gets the next id of the one sequence
        sub2 = c.post(SUBS, {"year": 1403, "half": 1, "office": "rey-1"})
        eq(sub2.status, 201, f"second submit: {sub2!r}")
        check(sub2.json["id"] != doc["id"], f"one sequence of ids: {doc['id']} then {sub2.json['id']}")
        second = c.get(f"{SUBS}/{sub2.json['id']}").raw
        targets2 = {"people_counselled": 9}
        r = c.request("PUT", "/v1/offices/REY-1/targets", {"year": 1403, "half": 1, "targets": targets2})
        eq(r.status, 200, f"targets again: {r!r}")
        refused(c.get(f"{SUBS}/sub_999999"), 404, "not_found")
        # a drill-down waits for the registry like the document; a diff, which cannot wait,
        # says this replica has not received it (yet)
        refused(c.get(f"{SUBS}/sub_999999/figures/classes"), 404, "not_found")
        refused(c.get(f"{SUBS}/sub_999999/diff"), 503, "not_yet_received")

        # back to replica 1 alone: it has followed what replica 2 took
        _start(c, "reporting")
        time.sleep(1)
        _only(c, "reporting", "reporting-2")
        eq(c.get(f"{SUBS}/{sub2.json['id']}").raw, second, "replica 1 answers replica 2's submission")
        eq(c.get(f"{SUBS}/{doc['id']}").raw, first.raw, "and its own, unchanged")
        rep = c.get("/v1/reports/half-year?year=1403&half=1&office=rey-1")
        eq(rep.json.get("targets"), targets2, "the targets set through replica 2 replace the first")


def test_report_targets_refused_by_owner():
    """The owner refuses targets of an office it does not know and documents it cannot place; the
    replica refuses an unknown indicator before asking it, and answers 503 while the owner is
    away."""
    with Cluster(["registry", "reporting"], clock="2024-08-01") as c:
        prov = c.province_key()
        r = c.request("PUT", "/v1/offices/rey-9/targets", {"year": 1403, "half": 1, "targets": {"classes": 1}},
                      key=prov)
        refused(r, 404, "unknown_office")
        r = c.request("PUT", "/v1/offices/rey-1/targets", {"year": 1403, "half": 1, "targets": {"nope": 1}})
        refused(r, 422, "unknown_indicator")
        # the owner checks what a replica sends it
        r = c.call("registry", "reports.record", {"document": {"records": {}}}, role="service")
        eq((r["status"], r["error"]["code"]), (422, "invalid_document"), f"{r}")
        r = c.call("registry", "reports.record",
                   {"document": {"report": {"office": "rey-9", "year": 1403, "half": 1}}}, role="service")
        eq((r["status"], r["error"]["code"]), (422, "unknown_office"), f"{r}")
        # no registry: the replica says so at once, and goes on answering reports
        c.kill("registry")
        time.sleep(3.5)   # the broker forgets a silent worker after 3 s
        eq(c.post(SUBS, {"year": 1403, "half": 1, "office": "rey-1"}).status, 503, "no owner, no submission")
        r = c.request("PUT", "/v1/offices/rey-1/targets", {"year": 1403, "half": 1, "targets": {"classes": 1}})
        eq(r.status, 503, f"no owner, no targets: {r!r}")
        eq(c.get("/v1/reports/half-year?year=1403&half=1").status, 200, "reports still answered")
        c.start_proc("registry")
        c.wait_serving("registry")
