"""Runs the office console's tests: the real system (gateway with /console/ and the six services,
started by tests/integration/harness.py), test data made through the API (seed.py), then
console.test.mjs drives Debian's headless Chromium through puppeteer-core as two offices.

Usage: run.py [name-prefix]   (console.rey-1.search, …; HY_BUILD selects build/release or build/asan)
Screenshots and the list of requests the console made go to build/console/.
Prints one line per test and closes with "N passed, N failed".
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import seed     # noqa: E402

OUT = os.path.join(ROOT, "build", "console")
SERVICES = ["registry", "loans", "networks", "microfund", "insurance", "reporting"]


def _npm_ready():
    """puppeteer-core and axe-core from npm (package.json pins them); installed when missing."""
    if os.path.isdir(os.path.join(HERE, "node_modules", "puppeteer-core")) and \
            os.path.isdir(os.path.join(HERE, "node_modules", "axe-core")):
        return True
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE)
    return r.returncode == 0


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    if only and not (only.startswith("console") or "console".startswith(only)):
        print("0 passed, 0 failed")   # HY_TEST_ONLY names other tests: nothing to start here
        return 0
    os.makedirs(os.path.join(OUT, "screens"), exist_ok=True)
    if not _npm_ready():
        print("FAIL console: puppeteer-core/axe-core could not be installed from npm")
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    try:
        with harness.Cluster(SERVICES, clock=seed.TODAY) as c:
            ids = seed.seed(c)
            cfg = {
                "base": f"http://127.0.0.1:{c.http_port}",
                "keys": {name: c.keys[name] for name in c.keys},
                "offices": ids,
                "out": OUT,
                "only": only,
            }
            path = os.path.join(OUT, "config.json")
            with open(path, "w") as f:
                json.dump(cfg, f, ensure_ascii=False)
            node = subprocess.Popen(["node", os.path.join(HERE, "console.test.mjs"), path],
                                    stdout=subprocess.PIPE, text=True)
            for line in node.stdout:   # the tests' lines as they come; the count is ours
                m = re.match(r"^(\d+) passed, (\d+) failed$", line.strip())
                if m:
                    passed, failed = int(m.group(1)), int(m.group(2))
                else:
                    print(line, end="", flush=True)
            if node.wait(timeout=600) != 0 and failed == 0:
                print(f"FAIL console: the browser run ended with exit {node.returncode}")
                failed += 1
    except Exception as e:   # set-up, or a process that did not stop cleanly (ASan, a crash)
        print(f"FAIL console.system: {e}")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
