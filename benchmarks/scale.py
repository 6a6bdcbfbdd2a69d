"""Newsroom scale (issue 10): the FNC-1 train + test bodies as one corpus.

Encode part: the claims' distinct embedding inputs (read, segmented and made canonical as
`verify build` does), then in a fresh process each, so no model, file cache or memory is shared:
  plain        load all-MiniLM-L6-v2 with sentence-transformers and encode the texts in one
               `SentenceTransformer.encode` call (batch 64): the baseline the issue's build time
               is divided by;
  torch        `verify.embed.encode(texts, backend="torch")`: the same model, batches sorted by
               length across the whole list, cut in calls of 512 for progress;
  onnx         int8 ONNX Runtime, one text a run (`verify.embed.OnnxEncoder`);
  onnx-fp32    float ONNX Runtime, batches of 64 sorted by token count;
and for each: load seconds (the ONNX file made beforehand, as on every use after the first),
encode seconds, texts/s, peak RSS, and the speed-up over plain load + encode.

    .venv/bin/python benchmarks/scale.py [--limit N] [--backends plain,torch,onnx,onnx-fp32]

`--limit N` takes every k-th text so that N remain (the same length mix as the whole).
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
SHARED = ROOT.parent / "shared"
FNC1_BODIES = [SHARED / "datasets" / "fnc1-train" / "train_bodies.csv",
               SHARED / "benchmarks" / "fnc1" / "competition_test_bodies.csv"]

ENCODE_CHILD = """
import json, resource, sys, time
texts = json.load(open(sys.argv[1]))
backend = sys.argv[2]
t0 = time.perf_counter()
from verify import embed
if backend == "plain":
    model = embed.load_model()
    t1 = time.perf_counter()
    model.encode(texts, batch_size=embed.BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
else:
    embed.load_model() if backend == "torch" else embed.load_onnx(None, backend)
    t1 = time.perf_counter()
    embed.encode(texts, backend=backend)
t2 = time.perf_counter()
print(json.dumps({"backend": backend, "load": t1 - t0, "encode": t2 - t1, "texts": len(texts),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def fnc1_corpus(folder: Path) -> Path:
    """The FNC-1 train and test bodies as one .jsonl corpus, one article a body."""
    csv.field_size_limit(1 << 30)
    path = folder / "fnc1_train_test_bodies.jsonl"
    with path.open("w", encoding="utf-8") as dst:
        for part, source in zip(("train", "test"), FNC1_BODIES):
            if not source.exists():
                sys.exit(f"{source}: not found (the FNC-1 data sits in ../shared)")
            with source.open(encoding="utf-8") as src:
                for row in csv.DictReader(src):
                    dst.write(json.dumps({"id": f"{part}-{row['Body ID']}", "text": row["articleBody"]}) + "\n")
    return path


def corpus_texts(corpus: Path) -> tuple[int, int, list[str]]:
    """(articles, claims, distinct embedding inputs) as `verify build` would embed them."""
    from verify import ingest, pipeline, provenance, segment

    articles, _ = ingest.read_articles([corpus])
    provenance.share_origins(articles)
    claims = segment.segment_articles(articles)
    return len(articles), len(claims), list(dict.fromkeys(pipeline.embedding_inputs(articles, claims)))


def run_child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"benchmark child failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="encode only N of the texts (every k-th)")
    parser.add_argument("--backends", default="plain,torch,onnx,onnx-fp32")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from verify import embed

    started = time.perf_counter()
    for backend in args.backends.split(","):
        if backend.startswith("onnx"):
            embed.onnx_model_file(None, backend)  # made once per machine; its first use is not what is measured
    with tempfile.TemporaryDirectory(prefix="verify-scale-") as tmp:
        work = Path(tmp)
        n_articles, n_claims, texts = corpus_texts(fnc1_corpus(work))
        if args.limit and args.limit < len(texts):
            step = len(texts) / args.limit
            texts = [texts[int(i * step)] for i in range(args.limit)]
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts))
        rows = [run_child(ENCODE_CHILD, str(texts_file), backend) for backend in args.backends.split(",")]

    print(f"FNC-1 train + test bodies: {n_articles} articles, {n_claims} claims, {len(texts)} distinct texts encoded")
    plain = next((r for r in rows if r["backend"] == "plain"), None)
    print(f"{'backend':<10} {'load s':>7} {'encode s':>9} {'texts/s':>8} {'RSS MB':>7} {'speed-up':>8}")
    for r in rows:
        total = r["load"] + r["encode"]
        speedup = (plain["load"] + plain["encode"]) / total if plain else float("nan")
        print(f"{r['backend']:<10} {r['load']:>7.1f} {r['encode']:>9.1f} {r['texts'] / r['encode']:>8.0f} "
              f"{r['rss_mb']:>7.0f} {speedup:>7.2f}x")
    print("speed-up = (plain load + encode) / (this backend's load + encode)")
    print(f"benchmark wall time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
