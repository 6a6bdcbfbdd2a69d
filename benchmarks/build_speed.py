"""How much does a build cost beyond the embedding model's own work?

For each corpus (the seeds, and the 904 FNC-1 test bodies as articles) this runs, each in a fresh
process so no model or cache is shared:
  1. `verify build` into an empty database (read, segment, embed, cluster, store, report);
  2. the baseline: load the same model with torch and encode the same distinct claim texts,
     nothing else (torch whatever backend the build uses: the plain encode a build is held to).
It prints, measured in this one run: build time / baseline time (target <= 1.5, goal 1.3),
claims per second of the build, and each process's peak RSS.

    .venv/bin/python benchmarks/build_speed.py [--corpus seeds|fnc1|all] [--backend torch|onnx|onnx-fp32]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FNC1_BODIES = ROOT.parent / "shared" / "benchmarks" / "fnc1" / "competition_test_bodies.csv"

BUILD_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from verify import pipeline
backend = sys.argv[1] or None
result = pipeline.build(sys.argv[2:-2], sys.argv[-2], sys.argv[-1], backend=backend)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "claims": result.n_claims, "articles": result.n_articles,
                  "encoded": result.n_encoded, "clusters": result.n_clusters,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BASELINE_CHILD = """
import json, resource, sys, time
texts = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
from verify import embed
embed.encode(texts, backend="torch")
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "texts": len(texts),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"benchmark child failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fnc1_corpus(folder: Path) -> Path:
    """The FNC-1 test bodies as a .jsonl corpus, one article a body."""
    if not FNC1_BODIES.exists():
        sys.exit(f"{FNC1_BODIES}: not found (the FNC-1 benchmark data sits in ../shared)")
    csv.field_size_limit(1 << 30)
    path = folder / "fnc1_bodies.jsonl"
    with FNC1_BODIES.open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as dst:
        for row in csv.DictReader(src):
            dst.write(json.dumps({"id": row["Body ID"], "text": row["articleBody"]}) + "\n")
    return path


def distinct_embedding_inputs(db_path: Path) -> list[str]:
    from verify import pipeline, store

    db = store.open_db(db_path)
    articles = [dict(r) for r in db.query("select id, text from articles")]
    claims = [dict(r) for r in db.query("select article_id, text from claims")]
    return list(dict.fromkeys(pipeline.embedding_inputs(articles, claims)))


def measure(name: str, paths: list[str], work: Path, backend: str) -> dict:
    db, out = work / f"{name}.db", work / f"{name}-report"
    build = run_child(BUILD_CHILD, backend, *paths, str(db), str(out))
    texts_file = work / f"{name}-texts.json"
    texts = distinct_embedding_inputs(db)
    texts_file.write_text(json.dumps(texts))
    baseline = run_child(BASELINE_CHILD, str(texts_file))
    return {"corpus": name, "build": build, "baseline": baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["seeds", "fnc1", "all"], default="all")
    parser.add_argument("--backend", choices=["torch", "onnx", "onnx-fp32"], default="",
                        help="the build's embedding backend (default: the build's own default)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        work = Path(tmp)
        corpora = []
        if args.corpus in ("seeds", "all"):
            corpora.append(("seeds", [str(ROOT / "seeds")]))
        if args.corpus in ("fnc1", "all"):
            corpora.append(("fnc1-bodies", [str(fnc1_corpus(work))]))
        rows = [measure(name, paths, work, args.backend) for name, paths in corpora]

    print(f"{'corpus':<12} {'articles':>8} {'claims':>7} {'encoded':>7} {'build s':>8} {'model+encode s':>14} "
          f"{'ratio':>6} {'claims/s':>8} {'build RSS MB':>12} {'base RSS MB':>11}")
    for r in rows:
        b, base = r["build"], r["baseline"]
        ratio = b["seconds"] / base["seconds"]
        print(f"{r['corpus']:<12} {b['articles']:>8} {b['claims']:>7} {b['encoded']:>7} {b['seconds']:>8.1f} "
              f"{base['seconds']:>14.1f} {ratio:>6.2f} {b['claims'] / b['seconds']:>8.1f} "
              f"{b['rss_mb']:>12.0f} {base['rss_mb']:>11.0f}")
    print(f"build backend: {args.backend or 'default'}; ratio = build time / (torch model load + encode of the same "
          f"distinct claim texts); target <= 1.5, goal 1.3")
    print(f"benchmark wall time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
