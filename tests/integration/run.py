"""Runs the integration tests: every test_* function of every test_*.py here.

Usage: run.py [name-prefix]   (HY_BUILD selects build/release or build/asan)
Prints one line per test and closes with "N passed, N failed". Tests marked soak run only with
HY_SOAK set; tests marked build_free (they do not run the build under test) only against a
build that is not the ASan one.
"""
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    soak = bool(os.environ.get("HY_SOAK"))
    passed = failed = 0
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = importlib.import_module(fname[:-3])
        for name in sorted(dir(mod)):
            fn = getattr(mod, name)
            if not name.startswith("test_") or not callable(fn):
                continue
            if getattr(fn, "soak", False) and not soak:
                continue
            # a test that builds or reads what it checks itself, not the build under test, runs
            # in the release pass only: the ASan pass would run the same thing again
            if getattr(fn, "build_free", False) and "asan" in os.environ.get("HY_BUILD", ""):
                continue
            full = f"{fname[:-3]}.{name}"
            if only and not full.startswith(only) and not name.startswith(only):
                continue
            t0 = time.time()
            try:
                fn()
                passed += 1
                print(f"ok   {full} ({time.time() - t0:.1f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {full} ({time.time() - t0:.1f}s)", flush=True)
                traceback.print_exc(limit=6)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
