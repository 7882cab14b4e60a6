"""Issue 15, offices as boundaries: an office code is one office however it is spelt.

The registry keys offices in normalised form ("REY-1" is "rey-1"), and every record carries the
normalised code. A key made with `hamyarctl keys add --office REY-1` must see and change its own
office's records in every service, not an empty list: the gateway hands the services the key's
office in the registry's form (gateway/keys.c), so no service compares spellings itself."""
import time

from harness import Cluster, check, eq, person
from test_microfund import CLOCK, _fund, _persons
from test_networks import _lead, _network


def test_a_key_spelt_in_capitals_is_its_office_in_every_service():
    with Cluster(["registry", "networks", "microfund"], clock=CLOCK) as c:
        upper = c.make_key("social_services", office="REY-1", key_id="office-upper")
        time.sleep(1.2)   # the gateway rereads its keys file at most once a second
        members = _persons(c, 1, 3)
        fid = _fund(c, members)
        lead, biz = _lead(c, 50)
        net = _network(c, lead, biz)["id"]
        for path, want in (("/v1/funds", fid), ("/v1/networks", net)):
            r = c.get(path, key=upper)
            eq(r.status, 200, f"{path} with the REY-1 key: {r}")
            eq([x["id"] for x in r.json["items"]], [want], f"{path}: the office's own record")
        r = c.get(f"/v1/funds/{fid}", key=upper)
        eq(r.status, 200, f"the fund reads: {r}")
        r = c.post("/v1/persons", person(60), key=upper)
        eq(r.status, 201, f"the key registers in its office: {r}")
        eq(r.json["office"], "rey-1", "the office as the registry keys it:")
        me = c.get("/v1/persons?limit=100", key=upper)
        check(me.status == 200 and len(me.json["items"]) >= 5, f"the office's people listed: {me}")

