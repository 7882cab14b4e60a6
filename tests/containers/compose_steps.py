"""Compose on one host (Compose v1, as Debian ships it): the project's docker-compose.yml as is,
but for the published port (a free one instead of 8080, so that nothing else on the machine is
in the way) and the keys it names (made for the run in the work directory)."""
import json
import os
import time

from lib import (COMPOSE, SERVICES, Api, add_key, check, docker, eq, health_timeout, register,
                 replica_hosts, run_health, sh, wait_for)

PROJECT = "hyct"


class Project:
    def __init__(self, work, port):
        self.work = work
        self.file = os.path.join(work, "docker-compose.yml")
        self.api = Api(port)
        self.port = port

    def compose(self, *args, timeout=300):
        return sh(COMPOSE, "-p", PROJECT, "-f", self.file, "--project-directory", self.work, *args,
                  timeout=timeout)

    def container(self, service, index=1):
        return f"{PROJECT}_{service}_{index}"

    def containers(self, service):
        out = self.compose("ps", "-q", service)
        return out.split()

    def exec_prefix(self, service="gateway"):
        return [COMPOSE, "-p", PROJECT, "-f", self.file, "--project-directory", self.work,
                "exec", "-T", service]

    def down(self):
        sh(COMPOSE, "-p", PROJECT, "-f", self.file, "--project-directory", self.work,
           "down", "-v", "--remove-orphans", "-t", "10", check_rc=False, timeout=180)


# ---- steps: each takes the Project and raises on failure ---------------------------------------

def up_ready(p):
    """docker-compose up: every service ready by the gateway's /readyz (not container health)."""
    p.compose("up", "-d", "--no-build", timeout=300)
    doc = p.api.wait_ready(timeout=240, workers={s: 1 for s in SERVICES})
    for s in SERVICES:
        check(doc["services"][s]["workers"] >= 1, f"{s} has a worker: {doc}")
    p.run_id = int(time.time()) % 100000
    add_key(p.exec_prefix(), p.api, "social_services")
    add_key(p.exec_prefix(), p.api, "insurance_fund")


def flow(p):
    """Through the gateway: a person, a business, a loan, an enrolment, a report."""
    api, base = p.api, p.run_id * 10
    person = register(api, base + 1)
    b = api.post("/v1/businesses", {"owner_id": person["id"], "activity": "خیاطی",
                                    "field": "handicrafts", "stage": "developing"})
    eq(b.status, 201, f"business: {b!r}")
    prod = api.post("/v1/loan-products", {"name": "اشتغال خانگی", "kind": "individual",
                                          "cap_rials": 500000000, "fee_rate_bp": 100,
                                          "term_months": 12, "min_stage": "developing"})
    eq(prod.status, 201, f"loan product: {prod!r}")
    loan = api.post("/v1/loans", {"person_id": person["id"], "business_id": b.json["id"],
                                  "product_id": prod.json["id"], "amount_rials": 20000000,
                                  "term_months": 12})
    eq(loan.status, 201, f"loan: {loan!r}")
    enr = api.post("/v1/enrolments", {"person_id": person["id"], "business_id": b.json["id"],
                                      "field": "handicrafts",
                                      "start_date": time.strftime("%Y-%m-%d")})
    eq(enr.status, 201, f"enrolment: {enr!r}")
    def report():
        # Reporting follows each source's events: the person and business (registry), the
        # loan (loans) and the enrolment (insurance) are each at least one.
        r = api.get("/v1/reports/indicators?from=2020-01-01&to=2030-01-01")
        return r.status == 200 and all(r.json["as_of"][s]["seq"] >= 1
                                       for s in ("registry", "loans", "insurance")) and r
    r = wait_for("a report that has applied the person, loan and enrolment", report, 60)
    p.people = [person["id"]]
    # The image ships the office console and its Persian font (the gateway serves both).
    c = api.get("/console/", key=None)
    eq(c.status, 200, f"GET /console/ from the image: {c!r}")
    check(b'dir="rtl"' in c.raw, "the console page is right to left")
    f = api.get("/console/fonts/nazli.ttf", key=None)
    eq(f.status, 200, f"the console's font from the image: {f!r}")
    print(f"    report as of {json.dumps(r.json['as_of'])[:200]}")


def health_gateway_outage(p):
    """With the gateway stopped, every service's health check answers within its timeout and says
    healthy (the gateway's absence is not the service's fault)."""
    p.compose("stop", "-t", "10", "gateway")
    try:
        for s in SERVICES:
            c = p.container(s)
            rc, took, out = run_health(c)
            limit = health_timeout(c)
            check(took < limit, f"{s}'s health check took {took:.1f}s (timeout {limit}s): {out}")
            eq(rc, 0, f"{s}'s health check with the gateway away ({out}):")
    finally:
        p.compose("start", "gateway")
        p.api.wait_ready(timeout=120, workers={s: 1 for s in SERVICES})


def health_gateway_needs_workers(p):
    """The gateway is healthy only while it has a worker of every service it expects."""
    gw = p.container("gateway")
    rc, _, out = run_health(gw)
    eq(rc, 0, f"the gateway's health check with every service up ({out}):")
    p.compose("stop", "-t", "10", "loans")
    try:
        def unhealthy():
            rc, _, out = run_health(gw)
            return rc != 0 and out
        out = wait_for("the gateway's health check fails without loans", unhealthy, 30, 1)
        check("loans" in out, f"the failure names loans: {out}")
    finally:
        p.compose("start", "loans")
        p.api.wait_ready(timeout=120, workers={s: 1 for s in SERVICES})
    wait_for("the gateway's health check passes again", lambda: run_health(gw)[0] == 0, 30, 1)


def health_own_fault(p):
    """A service whose process is frozen (SIGSTOP) fails its health check within the timeout."""
    c = p.container("registry")
    pid = docker("inspect", "-f", "{{.State.Pid}}", c).strip()
    os.kill(int(pid), 19)   # SIGSTOP
    try:
        rc, took, out = run_health(c)
        check(took < health_timeout(c), f"answered within the timeout: {took:.1f}s")
        check(rc != 0, f"a frozen registry is unhealthy: {out}")
    finally:
        os.kill(int(pid), 18)   # SIGCONT
    eq(run_health(c)[0], 0, "healthy again once it runs:")


def scale_reporting(p):
    """Scaled to 3, each reporting replica answers (its own host in hamyarctl status)."""
    p.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "reporting=3")
    p.api.wait_ready(timeout=180, workers={"reporting": 3})
    hosts = {docker("inspect", "-f", "{{.Config.Hostname}}", c).strip()
             for c in p.containers("reporting")}
    eq(len(hosts), 3, "three reporting containers:")

    def all_answer():
        seen = replica_hosts(p.exec_prefix(), "reporting")
        return seen == hosts and seen
    wait_for(f"each of {sorted(hosts)} answers service.status", all_answer, 60, 1)


def kill9_restart(p):
    """kill -9 of a service's process (a crash, from the host): its container is restarted by
    its restart policy and nothing acknowledged is lost."""
    ids = [register(p.api, p.run_id * 10 + 100 + i)["id"] for i in range(5)] + p.people
    c = p.container("registry")
    before = int(docker("inspect", "-f", "{{.RestartCount}}", c))
    os.kill(int(docker("inspect", "-f", "{{.State.Pid}}", c)), 9)
    wait_for("registry restarted", lambda: docker(
        "inspect", "-f", "{{.RestartCount}} {{.State.Running}}", c).split() == [str(before + 1),
                                                                              "true"], 60)
    # The killed worker stays in the broker's table (and in /readyz) until its heartbeat
    # expires (HY_BROKER_EXPIRY_MS): /readyz alone cannot tell it from its successor, so wait
    # until the restarted registry answers before checking what it kept.
    p.api.wait_ready(timeout=120, workers={"registry": 1})
    wait_for("the restarted registry answers",
             lambda: p.api.get(f"/v1/persons/{ids[0]}").status != 503, 60, 0.5)
    for pid in ids:
        r = p.api.get(f"/v1/persons/{pid}")
        eq(r.status, 200, f"person {pid} after kill -9: {r!r}")
    p.people = ids


def backup_restore(p):
    """As the README says: backup online, stop, restore offline with run --rm, start: what was
    written after the backup is gone, what was before is there."""
    d = "/var/lib/hamyar/backups/ct"
    out = sh(*p.exec_prefix(), "hamyarctl", "backup", "--service", "registry", "--dir", d)
    check("backed up" in out, out)
    later = register(p.api, p.run_id * 10 + 200)["id"]
    p.compose("stop", "registry")
    p.compose("run", "--rm", "--no-deps", "registry", "hamyarctl", "restore", "--from", d,
              "--data", "/var/lib/hamyar/registry", "--force")
    p.compose("start", "registry")
    p.api.wait_ready(timeout=120, workers={"registry": 1})
    for pid in p.people:
        r = p.api.get(f"/v1/persons/{pid}")
        eq(r.status, 200, f"person {pid} from the backup: {r!r}")
    eq(p.api.get(f"/v1/persons/{later}").status, 404, "a person written after the backup:")


STEPS = [up_ready, flow, health_gateway_outage, health_gateway_needs_workers, health_own_fault,
         scale_reporting, kill9_restart, backup_restore]
