"""Where does a build's memory go? Peak and held RSS of each stage of a full build of the FNC-1 bodies.

A full build of the first N FNC-1 bodies (default: all, ~39k claims) into an empty database, in a
fresh process, with a thread sampling the process's resident set (/proc/self/statm) every 0.2 s.
For each stage it prints:
  peak      the highest RSS sampled while the stage ran (what the stage itself needs on top of
            what earlier stages hold);
  held      the RSS when the stage ended (what is kept for the later stages);
  maxrss    ru_maxrss at the stage's end (the process's peak so far, as benchmarks/scale.py reports).
Sampling can miss a spike shorter than 0.2 s; ru_maxrss cannot, so the last column is the figure
that counts against issue 10's 1.5 GiB.

    .venv/bin/python benchmarks/memory.py [--bodies N] [--backend onnx-fp32|onnx|torch] [--db PATH]

`--db PATH` keeps the built database and its input, `bodies.jsonl` beside it (to measure adding
articles onto it afterwards: the same input path, so its read is the cached one).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from fnc1_corpus import body_rows, run_child, write_jsonl

CHILD = """
import json, os, resource, sys, threading, time
page = os.sysconf("SC_PAGE_SIZE") / 2**20
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
state = {"stage": "import", "peak": {}, "held": {}, "maxrss": {}, "seconds": {}}
def sample():
    while True:
        now, stage = rss(), state["stage"]
        state["peak"][stage] = max(state["peak"].get(stage, 0), now)
        time.sleep(0.2)
threading.Thread(target=sample, daemon=True).start()
t0 = last = time.perf_counter()
from verify import pipeline
order = ["read", "segment", "embed", "cluster", "conflicts", "store"]
def tick(stage, done, total):
    global last
    if done == total and stage not in state["held"]:
        now = time.perf_counter()
        state["held"][stage] = round(rss()); state["maxrss"][stage] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        state["seconds"][stage] = round(now - last, 1); last = now
        if stage in order and order.index(stage) + 1 < len(order):
            state["stage"] = order[order.index(stage) + 1]
state["stage"] = "read"
result = pipeline.build(sys.argv[3:], sys.argv[2], None, backend=sys.argv[1] or None, progress=tick)
state["held"]["store"] = round(rss()); state["seconds"]["store"] = round(time.perf_counter() - last, 1)
state["maxrss"]["store"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
state["peak"] = {k: round(v) for k, v in state["peak"].items()}
print(json.dumps({"claims": result.n_claims, "conflicts": result.n_conflicts, **state, "total": round(time.perf_counter() - t0, 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=None)
    parser.add_argument("--backend", default="")
    parser.add_argument("--db", default=None, help="build into this database (kept) instead of a temporary one")
    args = parser.parse_args()
    rows = body_rows()[: args.bodies] if args.bodies else body_rows()
    with tempfile.TemporaryDirectory(prefix="verify-memory-") as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "verify.db"
        corpus = write_jsonl(db.parent / "bodies.jsonl", rows)
        r = run_child(CHILD, args.backend, str(db), str(corpus))
    print(f"{len(rows)} bodies, {r['claims']} claims, {r['conflicts']} conflicts, {r['total']} s")
    print(f"{'stage':10s} {'seconds':>8s} {'peak MB':>8s} {'held MB':>8s} {'maxrss MB':>10s}")
    for stage in ("read", "segment", "embed", "cluster", "conflicts", "store"):
        print(f"{stage:10s} {r['seconds'].get(stage, 0):8.1f} {r['peak'].get(stage, 0):8d} {r['held'].get(stage, 0):8d} "
              f"{r['maxrss'].get(stage, 0):10d}")


if __name__ == "__main__":
    main()
