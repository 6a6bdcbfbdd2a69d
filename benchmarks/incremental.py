"""What does adding articles to a built corpus cost, as a share of its full build?

On the FNC-1 bodies (train + competition test, one article a body, as in the issue), each build
in a fresh process, as a user runs `verify build` again on the same database:
  1. full build of the first N bodies into an empty database (read, segment, embed, cluster,
     conflicts, store; no report);
  2. the same inputs and one more file with 1 new body;
  3. the same and one more file with 100 new bodies.
It prints each build's seconds, claims, texts encoded and peak RSS (ru_maxrss of its process),
and steps 2 and 3 as a share of step 1 (targets: <= 5 % and <= 15 %).

    .venv/bin/python benchmarks/incremental.py [--bodies N] [--backend onnx-fp32|onnx|torch]

`--bodies` defaults to all of them (2,587 bodies, ~39k claims; about 11 min for the full build
on a free 2-core machine); a smaller N measures a subset.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from fnc1_corpus import body_rows, run_build, write_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=None, help="bodies in the full build (default: all but 101)")
    parser.add_argument("--backend", default="", help="embedding backend (default: the build's own)")
    args = parser.parse_args()
    rows = body_rows()
    n = min(args.bodies or len(rows) - 101, len(rows) - 101)
    with tempfile.TemporaryDirectory(prefix="verify-incremental-") as tmp:
        work = Path(tmp)
        base = write_jsonl(work / "base.jsonl", rows[:n])
        one = write_jsonl(work / "add1.jsonl", rows[n : n + 1])
        hundred = write_jsonl(work / "add100.jsonl", rows[n + 1 : n + 101])
        db = work / "verify.db"
        steps = [("full build", [base]), ("add 1 article", [base, one]), ("add 100 articles", [base, one, hundred])]
        results = []
        for name, paths in steps:
            r = run_build(db, paths, args.backend)
            results.append(r)
            share = f"{100 * r['seconds'] / results[0]['seconds']:5.1f} % of full" if results[1:] else ""
            print(f"{name:17s} {r['seconds']:7.1f} s {share:>15s}  {r['articles']} articles, {r['claims']} claims, "
                  f"{r['encoded']} encoded, peak RSS {r['rss_mb']:.0f} MB  stages {r['stages']}", flush=True)


if __name__ == "__main__":
    main()
