#!/usr/bin/env python3
"""The shape of src/ (doc/architecture.md), checked:

- each folder includes headers only from itself and the folders below it
  (base < config < control < source < encode < record < publish, and lsl on
  base alone, telemetry on base and config; analysis beside record, on base..encode); http/ only from
  base, config, control, encode/jpeg.h, record/catalog.h and app/status.h; app/ from anything;
- every public header (not *internal.h) carries extern "C" guards and is
  included by tests/unit/test_headers.cpp, which is compiled as C++.

Exits 1 listing every violation."""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
HEADERS_TEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unit", "test_headers.cpp")
ORDER = ["base", "config", "control", "source", "encode", "record", "publish"]
ALLOWED = {folder: set(ORDER[:i + 1]) for i, folder in enumerate(ORDER)}
ALLOWED["lsl"] = {"base", "lsl"}
ALLOWED["analysis"] = set(ORDER[:ORDER.index("encode") + 1]) | {"analysis"}
ALLOWED["telemetry"] = {"base", "config", "telemetry"}
ALLOWED["http"] = {"base", "config", "control", "http", "encode/jpeg.h", "record/catalog.h", "app/status.h"}
GENERATED = {"embedded.h", "camrig-version.h"}

problems = []
public = []
for folder in sorted(os.listdir(SRC)):
    path = os.path.join(SRC, folder)
    if not os.path.isdir(path):
        continue
    if folder not in ALLOWED and folder != "app":
        problems.append(f"src/{folder}/: a folder the layering does not know (add it to tests/check_layout.py "
                        "and doc/architecture.md)")
        continue
    for name in sorted(os.listdir(path)):
        if not name.endswith((".c", ".h", ".cpp")):
            continue
        rel = f"{folder}/{name}"
        text = open(os.path.join(path, name), encoding="utf-8").read()
        for inc in re.findall(r'^#include "([^"]+)"', text, re.M):
            if inc in GENERATED or folder == "app":
                continue
            top = inc.split("/")[0]
            if top not in ALLOWED[folder] and inc not in ALLOWED[folder]:
                problems.append(f"src/{rel}: includes {inc} from above its layer")
        if name.endswith(".h") and not name.endswith("internal.h"):
            public.append(rel)
            if 'extern "C"' not in text:
                problems.append(f"src/{rel}: public header without extern \"C\" guards")

included = set(re.findall(r'^#include "([^"]+)"', open(HEADERS_TEST, encoding="utf-8").read(), re.M))
for rel in public:
    if rel not in included:
        problems.append(f"src/{rel}: not in tests/unit/test_headers.cpp")
for rel in sorted(included - set(public)):
    problems.append(f"tests/unit/test_headers.cpp: {rel} is not a public header of src/")

for p in problems:
    print(p)
print(f"{len(public)} public headers, {len(problems)} problems")
sys.exit(1 if problems else 0)
