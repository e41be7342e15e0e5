#!/usr/bin/env python3
"""Prints one line summing meson testlog.json files:
   camrig tests: N passed, N failed, N skipped"""
import json
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        counts["failed"] += 1
        print(f"{path}: missing (the build or the test run failed)")
        continue
    for line in lines:
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif result == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"camrig tests: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
