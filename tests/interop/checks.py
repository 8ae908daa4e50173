"""The check runner the Python test scripts share: each `@check(name)` function runs at
once, prints ok or FAIL (with its traceback), and `finish(label)` prints the counts and
exits non-zero if any check failed."""
import sys, traceback

results = {"passed": 0, "failed": 0}


def check(name):
    def deco(f):
        try:
            f()
            results["passed"] += 1
            print(f"ok   {name}")
        except Exception:
            results["failed"] += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        return f
    return deco


def finish(label):
    print(f"{label}: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)
