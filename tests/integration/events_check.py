"""Checks the events a cluster wrote against what the gateway says of them (issue 19 items 3, 6).

Every event of every live service's outbox must be a CloudEvent with the Sequence extension
(`sequence` the zero-padded string of `seq`, gapless from 1), carry a `dataschema` whose path the
gateway serves, and have `data` valid against that JSON Schema (python3-jsonschema). The harness
runs this when a Cluster ends without error, so every event the suite makes is checked; set
HY_SKIP_EVENT_CHECK=1 to skip it.
"""
import json
import urllib.parse

import jsonschema


def check_cluster(c, TestFailure):
    schemas = {}
    problems = []
    for service in c.services:
        p = c.procs.get(service)
        if p is None or p.poll() is not None:
            continue   # not running: nothing to ask
        try:
            events = c.events_since(service)
        except TestFailure:
            continue   # a service the test left unanswering (stopped, partitioned)
        for i, ev in enumerate(events):
            problems += [f"{service} event {ev.get('seq')}: {m}" for m in check_event(c, ev, i + 1, schemas)]
            if len(problems) > 20:
                break
    if problems:
        raise TestFailure("events that do not match the contract:\n  " + "\n  ".join(problems[:20]))


def check_event(c, ev, want_seq, schemas):
    out = []
    seq = ev.get("seq")
    if not isinstance(seq, int) or seq != want_seq:
        out.append(f"seq {seq!r} where {want_seq} was due (gapless from 1)")
    if ev.get("sequence") != f"{want_seq:020d}":
        out.append(f"sequence {ev.get('sequence')!r} is not the zero-padded string of {want_seq}")
    for attr in ("specversion", "id", "source", "type", "time", "dataschema"):
        if not isinstance(ev.get(attr), str) or not ev.get(attr):
            out.append(f"no {attr}")
    if out:
        return out
    path = urllib.parse.urlparse(ev["dataschema"]).path
    if not path.endswith("/" + ev["type"]):
        return [f"dataschema {ev['dataschema']} is not the schema of {ev['type']}"]
    if path not in schemas:
        r = c.get(path, key=None)
        schemas[path] = r.json if r.status == 200 else r.status
    schema = schemas[path]
    if not isinstance(schema, dict):
        return [f"{ev['type']}: GET {path} answered {schema}"]
    try:
        jsonschema.validators.validator_for(schema)(schema).validate(ev.get("data"))
    except jsonschema.ValidationError as e:
        return [f"{ev['type']} data does not match {path}: {e.message} at {list(e.absolute_path)}"]
    return []
