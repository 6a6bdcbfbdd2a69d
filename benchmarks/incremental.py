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
import json
import tempfile
from pathlib import Path

from fnc1_corpus import body_rows, run_build, write_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=None, help="bodies in the full build (default: all but 101)")
    parser.add_argument("--backend", default="", help="embedding backend (default: the build's own)")
    parser.add_argument("--compare", action="store_true",
                        help="also build the last step's inputs from scratch and count what differs")
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
                  f"{r['encoded']} encoded, peak RSS {r['rss_mb']:.0f} MB  stages {r['stages']}  redone {r.get('redone')}  "
                  f"peak RSS at each stage's end {r.get('peak_mb_after')}",
                  flush=True)
        if args.compare:
            fresh = work / "fresh.db"
            r = run_build(fresh, steps[-1][1], args.backend)
            print(f"{'from scratch':17s} {r['seconds']:7.1f} s  {r['claims']} claims  stages {r['stages']}", flush=True)
            print("incremental vs from scratch:", json.dumps(differences(db, fresh)), flush=True)


def differences(a: Path, b: Path) -> dict:
    """Claims whose cluster holds other claims in one build than in the other, claims whose
    cluster status differs, and conflicts (by content pair) only one build flags."""
    import sqlite3

    def read(path):
        db = sqlite3.connect(path)
        members: dict[str, set] = {}
        claim_cluster, status = {}, {}
        for cid, cluster_id, st in db.execute("select claims.id, cluster_id, clusters.status from claims "
                                              "join clusters on clusters.id = claims.cluster_id"):
            members.setdefault(cluster_id, set()).add(cid)
            claim_cluster[cid], status[cid] = cluster_id, st
        conflicts = {row[0] for row in db.execute("select pair_key from conflicts")}
        db.close()
        return {c: frozenset(members[k]) for c, k in claim_cluster.items()}, status, conflicts

    (ga, sa, ca), (gb, sb, cb) = read(a), read(b)
    return {"claims": len(ga), "claims_moved": sum(1 for c in ga if ga[c] != gb.get(c)),
            "status_differs": sum(1 for c in sa if sa[c] != sb.get(c)),
            "conflicts": [len(ca), len(cb)], "conflicts_in_one_only": len(ca ^ cb)}


if __name__ == "__main__":
    main()
