#!/usr/bin/env python3
"""Turns criterion's estimates (target/criterion) into the side-by-side table of
BENCHMARKS.md: median of Aunsorm's call, median of the raw backend call, overhead."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
rows = {}
for group in sorted(os.listdir(root)):
    gdir = os.path.join(root, group)
    if not os.path.isdir(gdir) or group == "report":
        continue
    for entry in sorted(os.listdir(gdir)):
        # Either <bench>/<impl>/new (BenchmarkId) or <bench>_<impl>/new ("bench/impl").
        nested = [(entry, i, os.path.join(gdir, entry, i)) for i in sorted(os.listdir(os.path.join(gdir, entry)))
                  if os.path.exists(os.path.join(gdir, entry, i, "new", "estimates.json"))]
        if not nested and "_" in entry:
            bench, impl = entry.rsplit("_", 1)
            nested = [(bench, impl, os.path.join(gdir, entry))]
        for bench, impl, d in nested:
            est = os.path.join(d, "new", "estimates.json")
            if os.path.exists(est):
                rows.setdefault((group, bench), {})[impl] = json.load(open(est))["median"]["point_estimate"]


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


print("| operation | Aunsorm (median) | raw backend (median) | backend | Aunsorm / raw |")
print("|---|---|---|---|---|")
for (group, bench), impls in rows.items():
    ours = impls.get("aunsorm")
    raw = [(k, v) for k, v in impls.items() if k != "aunsorm"]
    name = f"{group} {bench}" if group != "slow" else bench
    if raw:
        k, v = raw[0]
        extra = ""
        if "1MiB" in group and ours:
            extra = f" ({2**20 / ours:.2f} GB/s vs {2**20 / v:.2f} GB/s)"
        print(f"| {name} | {fmt(ours)} | {fmt(v)} | {k} | {ours / v:.3f}{extra} |")
    else:
        print(f"| {name} | {fmt(ours)} | - | - | - |")
