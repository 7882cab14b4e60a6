"""Issue 15, offices as boundaries, for the loans portfolio: its office filter compares office
codes as every other scope check does (shared/scope.h: in normalised form, "REY-1" is "rey-1").

Found by the loans benchmark: the portfolio compared the office byte for byte while the scope
checks, lists and the queue compare normalised codes, so a key made with `--office REY-1` listed
its office's loans but saw an empty portfolio, and a province key's `?office=REY-1` counted
nothing while `GET /v1/loans?office=REY-1` listed that office's loans."""
import time

from harness import Cluster, eq
from test_loans import TODAY, _product
from test_loans_corrections import _ok, _paper_loan


def test_portfolio_office_filter_compares_codes_as_scope_does():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        upper = c.make_key("social_services", office="REY-1", key_id="office-upper")
        prov = c.make_key("social_services", office="*", key_id="province")
        time.sleep(1.2)   # the gateway rereads its keys file at most once a second
        prod = _product(c, fiscal_year=1402)
        _, lid = _paper_loan(c, 1, prod, 12000000)   # a rey-1 borrower, disbursed
        # the list already compares as scope does: the same loan for both spellings
        eq([x["id"] for x in _ok(c.get("/v1/loans", key=upper), "REY-1 key's list")["items"]],
           [lid])
        eq([x["id"] for x in _ok(c.get("/v1/loans?office=REY-1", key=prov), "province list")
            ["items"]], [lid])
        # the portfolio must count what the list shows
        for path, key, want in (("/v1/loans/portfolio", upper, 1),
                                ("/v1/loans/portfolio?office=REY-1", upper, 1),
                                ("/v1/loans/portfolio?office=REY-1", prov, 1),
                                ("/v1/loans/portfolio?office=rey-1", prov, 1),
                                ("/v1/loans/portfolio?office=rey-2", prov, 0),
                                ("/v1/loans/portfolio", prov, 1)):
            p = _ok(c.get(path, key=key), path)
            eq(p["total"]["loans"], want, f"{path} ({'REY-1' if key == upper else '*'} key):")
            eq([g["office"] for g in p["by_office"]], ["rey-1"] * want, f"{path} by_office:")
