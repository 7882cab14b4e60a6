"""hamyarctl as redis-cli, nats and kubectl users expect it (issue 19 item 7): help on stdout
(and per command), --version, --broker, --json for every list, unknown commands named, and
`status` failing when a service of the deployment is down.
"""
import json
import time

from harness import Cluster, check, eq
from netns import clean_env, ctl


def test_help_version_and_unknown_commands():
    env = clean_env()
    r = ctl(env, "--help")
    eq(r.returncode, 0)
    check("hamyarctl keys add" in r.stdout and "hamyarctl status" in r.stdout, r.stdout)
    check("--broker" in r.stdout and "--version" in r.stdout, "global options in the help")
    eq(r.stderr, "", "help goes to stdout only:")
    r = ctl(env, "keys", "--help")
    eq(r.returncode, 0)
    check("hamyarctl keys list" in r.stdout and "hamyarctl status" not in r.stdout,
          f"keys --help is about keys:\n{r.stdout}")
    r = ctl(env, "status", "--help")
    eq(r.returncode, 0)
    check(r.stdout.startswith("usage: hamyarctl status"), r.stdout)
    eq(ctl(env, "help", "backup").stdout.split("\n")[0].split()[:3], ["usage:", "hamyarctl", "backup"])
    r = ctl(env, "--version")
    eq(r.returncode, 0)
    check(r.stdout.startswith("hamyarctl ") and any(ch.isdigit() for ch in r.stdout), r.stdout)
    r = ctl(env, "frobnicate")
    eq(r.returncode, 2)
    check("unknown command 'frobnicate'" in r.stderr, r.stderr)
    eq(r.stdout, "", "an error prints nothing on stdout:")
    r = ctl(env, "status", "--bogus")
    eq(r.returncode, 2, "an unknown option is a usage error:")


def test_keys_list_json_and_status_broker_flag_and_exit_code():
    with Cluster(["registry", "networks"]) as c:
        r = ctl(c.env, "keys", "list", "--json")
        eq(r.returncode, 0, r.stderr)
        keys = json.loads(r.stdout)
        eq(sorted(k["role"] for k in keys), ["auditor", "insurance_fund", "operator", "social_services"])
        check(all(set(k) == {"key_id", "role", "office", "state"} for k in keys), keys)
        check("hash" not in r.stdout and not any(len(w) == 64 for w in r.stdout.split('"')),
              "no hash in a listing")
        r = ctl(c.env, "keys", "add", "--role", "monitoring")
        eq(r.returncode, 0, r.stderr)
        # --broker instead of HY_BROKER, anywhere on the line.
        env = {k: v for k, v in c.env.items() if k != "HY_BROKER"}
        env["HY_BROKER"] = "tcp://127.0.0.1:1"   # wrong on purpose: the flag wins
        r = ctl(env, "status", "--json", "--broker", c.broker)
        eq(r.returncode, 0, f"all up: {r.stderr}")
        st = json.loads(r.stdout)
        check(st["services"]["registry"]["up"] and st["services"]["networks"]["up"], st)
        eq(st["down"], [])
        r = ctl(env, "--broker=" + c.broker, "status")
        eq(r.returncode, 0, r.stderr)
        c.kill("networks")
        c.procs["networks"]._expected_dead = True
        time.sleep(3.5)   # the broker forgets a worker silent for 3 s
        r = ctl(c.env, "status")
        eq(r.returncode, 1, f"a service down fails status: {r.stdout}")
        check("networks" in r.stderr, r.stderr)
        r = ctl(c.env, "status", "--json")
        eq(r.returncode, 1)
        eq(json.loads(r.stdout)["down"], ["networks"])
