"""An idle replica sleeps: no thread of a service spins while nothing arrives.

The half-year report's p99 was 12 ms for a p50 of 0.26 ms: the reactor of every service without
background work (reporting among them) polled its sockets with a zero timeout forever, so on two
cores it held one of them and the threads that serve a report (the reader, the gateway's, the
load generator's) waited for the scheduler. Measured by the threads' states, not by time: a
spinning thread is runnable ('R') in nearly every sample, however busy the machine is; an idle
one sleeps in its poll ('S').
"""
import os
import time

from harness import Cluster, check

SERVICES = ["registry", "loans", "networks", "microfund", "insurance", "reporting"]
SAMPLES = 40


def _states(pid):
    """{thread name/id: state letter} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue   # the thread ended meanwhile
        name = text[text.index("(") + 1:text.rindex(")")]
        out[f"{name}/{tid}"] = text[text.rindex(")") + 2]
    return out


def test_idle_services_sleep():
    with Cluster(SERVICES) as c:
        c.wait_ready()
        time.sleep(2)   # the followers' first polls, the offices' events: then nothing arrives
        running = {}
        for _ in range(SAMPLES):
            for tag in SERVICES:
                for thread, state in _states(c.procs[tag].pid).items():
                    running.setdefault((tag, thread), 0)
                    running[(tag, thread)] += state == "R"
            time.sleep(0.05)
        busy = {k: n for k, n in running.items() if n > SAMPLES // 2}
        check(not busy, f"threads runnable in more than half of {SAMPLES} samples while idle "
                        f"(service, thread): {busy}")
