"""The event feeds as integrators' tools see them (issue 19 items 3 and 6, issue 14's event table).

- /v1/asyncapi.json is an AsyncAPI 3.0 document built from what the services announce, and the
  reference parser (@asyncapi/parser, from npm) accepts it with no error: every service's PUB
  channel, every declared event type with its data schema, events.since, the HTTP feed.
- service.describe lists each service's event types with their data fields.
- Events are CloudEvents with the Sequence extension (`sequence` a zero-padded string that orders
  as the numbers do, `seq` the number for existing consumers) and a `dataschema` the gateway
  serves; the harness validates every event of every test against it (events_check.py).
- The HTTP feed answers application/cloudevents-batch+json when asked for it.
"""
import json
import os
import subprocess

from harness import ROOT, Cluster, check, eq
from test_insurance import TODAY, _enrol, _register

ALL = ["registry", "loans", "networks", "microfund", "insurance", "reporting"]
PARSER_DIR = os.path.join(ROOT, "build", "asyncapi-parser")


def _parse_asyncapi(text):
    """Runs @asyncapi/parser over text; returns its report (installed by tools/install-deps.sh)."""
    modules = os.path.join(PARSER_DIR, "node_modules")
    check(os.path.isdir(os.path.join(modules, "@asyncapi", "parser")),
          f"@asyncapi/parser is not installed in {modules}: run tools/install-deps.sh")
    p = subprocess.run(["node", os.path.join(ROOT, "tests", "integration", "asyncapi_check.js")],
                       input=text, capture_output=True, env=dict(os.environ, NODE_PATH=modules),
                       timeout=120)
    check(p.stdout, f"the parser printed nothing: {p.stderr[-2000:]!r}")
    report = json.loads(p.stdout)
    check(p.returncode == 0 and not report["errors"],
          f"@asyncapi/parser refuses the document: {json.dumps(report['errors'][:10], ensure_ascii=False)}")
    return report


def test_asyncapi_document_parses_and_lists_every_event_type():
    with Cluster(ALL) as c:
        r = c.get("/v1/asyncapi.json", key=None)
        eq(r.status, 200, f"{r}")
        doc = r.json
        eq(doc.get("asyncapi"), "3.0.0")
        report = _parse_asyncapi(r.raw)
        eq(report["version"], "3.0.0")
        declared = set()
        for s in ALL:
            d = c.call(s, "service.describe")
            eq(d["status"], 200)
            events = d["result"]["events"]
            check(all(isinstance(e, dict) and e.get("type") for e in events),
                  f"{s}: events are described with their type: {events[:2]}")
            for e in events:
                declared.add(e["type"])
                check(isinstance(e.get("data"), list), f"{e['type']}: no data fields")
            check(f"{s}-events" in report["channels"], f"{s}: no PUB channel in {report['channels']}")
            check(f"{s}-events-since" in report["channels"], f"{s}: no events.since channel")
        check(len(declared) >= 50, f"only {len(declared)} event types declared")
        missing = declared - set(report["messages"])
        check(not missing, f"event types missing from the document: {sorted(missing)}")
        check("http-feeds-enrolments" in report["channels"], "the HTTP feed has no channel")
        # Each declared type's data schema is served where its events' dataschema points.
        s = c.get("/v1/schemas/events/registry.person.registered", key=None)
        eq(s.status, 200, f"{s}")
        eq(s.headers.get("Content-Type", "").split(";")[0], "application/schema+json")
        check("id" in s.json.get("required", []), f"{s.json}")
        eq(c.get("/v1/schemas/events/registry.nothing.happened", key=None).status, 404)


def test_cloudevents_sequence_dataschema_and_batch_feed():
    with Cluster(["registry", "insurance"], clock=TODAY) as c:
        people = _register(c, 12, base=7100, threads=4)
        for who in people[:11]:
            eq(_enrol(c, who).status, 201)
        evs = c.events_since("insurance")
        eq(len(evs), 11)
        for i, e in enumerate(evs, 1):
            eq(e["seq"], i, "the number, kept for existing consumers:")
            eq(e["sequence"], f"{i:020d}", "the CloudEvents Sequence string:")
            check(e["dataschema"].endswith("/v1/schemas/events/" + e["type"]), e["dataschema"])
        # Strings order as the numbers do (9 < 10 once padded).
        eq(sorted(e["sequence"] for e in evs), [e["sequence"] for e in evs])
        page = c.get("/v1/feeds/enrolments?after=8", key="insurance_fund")
        eq(page.status, 200, f"{page}")
        eq(page.headers.get("Content-Type", "").split(";")[0], "application/json")
        eq([e["seq"] for e in page.json["events"]], [9, 10, 11])
        batch = c.get("/v1/feeds/enrolments?after=8", key="insurance_fund",
                      headers={"Accept": "application/cloudevents-batch+json"})
        eq(batch.status, 200, f"{batch}")
        eq(batch.headers.get("Content-Type", "").split(";")[0], "application/cloudevents-batch+json")
        check(isinstance(batch.json, list), f"a batch is a JSON array: {batch.raw[:300]!r}")
        eq(batch.json, page.json["events"], "the same events:")
        refused = c.get("/v1/feeds/enrolments?after=8", key="insurance_fund",
                        headers={"Accept": "application/cloudevents-batch+json;q=0, application/json"})
        eq(refused.headers.get("Content-Type", "").split(";")[0], "application/json")
