"""Do the onnx embedding backends give the same build as torch?

Builds each corpus (the seeds and the four development stories) into fresh databases, once with
torch and once with each other backend, at the shipped defaults, and counts what differs from torch:
  claims   claims whose cluster holds other claims under the other backend (a claim is compared
           by the set of claim ids it is clustered with, so cluster ids do not matter)
  status   claims whose cluster status differs
  conflicts flagged conflicts (by pair key) that only one backend flags
and prints the embedding stage's seconds of each build (models loaded beforehand), and the lowest
and mean cosine between the two backends' vectors of the same claim texts.

    .venv/bin/python benchmarks/backends.py [--corpus seeds|stories|all] [--backends onnx,onnx-fp32] [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's verify, as the other benchmarks do
STORIES = ROOT.parent / "shared" / "stories"


def build_one(paths: list[str], work: Path, name: str, backend: str) -> dict:
    from verify import embed, pipeline, store

    db_path = work / f"{name}-{backend}.db"
    stage_seconds: dict[str, float] = {}
    last = [time.perf_counter()]

    def tick(stage: str, done: int, total: int) -> None:
        if done >= total:
            now = time.perf_counter()
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + now - last[0]
            last[0] = now

    # Both models are loaded before the clock starts: this compares encoding, not loading.
    embed.load_model() if backend == "torch" else embed.load_onnx(None, backend)
    result = pipeline.build(paths, db_path, None, progress=tick, backend=backend)
    db = store.open_db(db_path)
    claims = [dict(r) for r in db.query("select c.id, c.cluster_id, k.status from claims c join clusters k on k.id = c.cluster_id")]
    members: dict[str, set[str]] = defaultdict(set)
    for c in claims:
        members[c["cluster_id"]].add(c["id"])
    key = embed.model_key(None, backend)
    articles = [dict(r) for r in db.query("select id, text from articles")]
    texts = pipeline.embedding_inputs(articles, store.claims(db))
    vectors = store.load_embeddings(db, key, [embed.text_hash(t) for t in texts])
    return {
        "group": {c["id"]: frozenset(members[c["cluster_id"]]) for c in claims},
        "status": {c["id"]: c["status"] for c in claims},
        "conflicts": {r["pair_key"] for r in store.conflicts(db) if r["review"] != "dismissed"},
        "clusters": result.n_clusters,
        "statuses": result.statuses,
        "embed_s": stage_seconds.get("embed", float("nan")),
        "vectors": vectors,
    }


def compare(name: str, torch_build: dict, onnx_build: dict, backend: str, verbose: bool) -> dict:
    ids = torch_build["group"].keys() & onnx_build["group"].keys()
    moved = sorted(i for i in ids if torch_build["group"][i] != onnx_build["group"][i])
    status = sorted(i for i in ids if torch_build["status"][i] != onnx_build["status"][i])
    only_torch = torch_build["conflicts"] - onnx_build["conflicts"]
    only_onnx = onnx_build["conflicts"] - torch_build["conflicts"]
    shared = torch_build["vectors"].keys() & onnx_build["vectors"].keys()
    cosines = np.array([float(torch_build["vectors"][h] @ onnx_build["vectors"][h]) for h in shared])
    if verbose:
        for i in moved:
            print(f"  {name}: {i} torch with {len(torch_build['group'][i]) - 1} others, {backend} with {len(onnx_build['group'][i]) - 1}")
        for k in sorted(only_torch):
            print(f"  {name}: conflict only under torch {k}")
        for k in sorted(only_onnx):
            print(f"  {name}: conflict only under {backend} {k}")
    return {"corpus": name, "backend": backend, "claims": len(ids), "clusters": (torch_build["clusters"], onnx_build["clusters"]),
            "moved": len(moved), "status": len(status),
            "conflicts": (len(torch_build["conflicts"]), len(onnx_build["conflicts"])),
            "conflicts_differ": len(only_torch) + len(only_onnx),
            "embed_s": (torch_build["embed_s"], onnx_build["embed_s"]),
            "cos_min": float(cosines.min()) if len(cosines) else float("nan"),
            "cos_mean": float(cosines.mean()) if len(cosines) else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["seeds", "stories", "all"], default="all")
    parser.add_argument("--backends", default="onnx,onnx-fp32", help="backends to compare with torch (comma-separated)")
    parser.add_argument("--verbose", action="store_true", help="name each claim and conflict that differs")
    args = parser.parse_args()
    others = args.backends.split(",")
    corpora = []
    if args.corpus in ("seeds", "all"):
        corpora.append(("seeds", [str(ROOT / "seeds")]))
    if args.corpus in ("stories", "all"):
        if not STORIES.is_dir():
            sys.exit(f"{STORIES}: not found (the development stories sit in ../shared)")
        corpora += [(d.name, [str(d / "articles.jsonl")]) for d in sorted(STORIES.iterdir()) if (d / "articles.jsonl").is_file()]
    with tempfile.TemporaryDirectory(prefix="verify-backends-") as tmp:
        rows = []
        for name, paths in corpora:
            torch_build = build_one(paths, Path(tmp), name, "torch")
            rows += [compare(name, torch_build, build_one(paths, Path(tmp), name, b), b, args.verbose) for b in others]
    print(f"{'corpus':<20} {'backend':<9} {'claims':>6} {'clusters t/o':>12} {'moved':>5} {'status':>6} {'conflicts t/o':>13} "
          f"{'differ':>6} {'embed s t/o':>11} {'cos min':>7} {'cos mean':>8}")
    for r in sorted(rows, key=lambda r: r["backend"]):
        print(f"{r['corpus']:<20} {r['backend']:<9} {r['claims']:>6} {'%d/%d' % r['clusters']:>12} {r['moved']:>5} {r['status']:>6} "
              f"{'%d/%d' % r['conflicts']:>13} {r['conflicts_differ']:>6} {'%.1f/%.1f' % r['embed_s']:>11} "
              f"{r['cos_min']:>7.4f} {r['cos_mean']:>8.4f}")
    print("t/o: torch / the other backend. moved: claims clustered with other claims than under torch; status: claims "
          "whose cluster status differs; differ: conflicts (pair keys) flagged under one backend only")


if __name__ == "__main__":
    main()
