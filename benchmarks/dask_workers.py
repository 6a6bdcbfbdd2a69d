"""In-process against a Dask LocalCluster: the embedding and the HNSW neighbour search.

Takes the first N distinct sentences of the FNC-1 test bodies (../shared/benchmarks/fnc1/, used
as text only), encodes them with the default backend in this process and on a LocalCluster of
W worker processes (1 thread each; the model loaded on every worker before the clock starts, as
`verify build --scheduler` finds it on a running cluster), then searches the HNSW graph of those
vectors both ways, and prints the seconds, texts/s and whether the results are identical.

    .venv/bin/python benchmarks/dask_workers.py [--texts 3000] [--workers 2] [--backend onnx-fp32]

On one machine a LocalCluster only adds copying to the same cores: what it measures is the cost of
going through Dask. The gain is on several machines, where each worker has cores of its own.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's verify, as the other benchmarks do
FNC1_BODIES = ROOT.parent / "shared" / "benchmarks" / "fnc1" / "competition_test_bodies.csv"


def sentences(limit: int) -> list[str]:
    csv.field_size_limit(1 << 24)
    seen: dict[str, None] = {}
    with FNC1_BODIES.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for s in re.split(r"(?<=[.!?])\s+", row["articleBody"]):
                s = " ".join(s.split())
                if len(s) >= 30:
                    seen.setdefault(s)
                    if len(seen) >= limit:
                        return list(seen)
    return list(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default=None, help="embedding backend (default: the shipped default)")
    args = parser.parse_args()

    from distributed import LocalCluster

    from verify import cluster, embed, workers

    backend = embed.resolve_backend(None, args.backend)
    texts = sentences(args.texts)
    print(f"{len(texts)} distinct FNC-1 sentences, backend {backend}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")

    load = embed.load_model if backend == "torch" else (lambda: embed.load_onnx(None, backend))
    load()
    start = time.perf_counter()
    here = embed.encode(texts, backend=backend)
    encode_here = time.perf_counter() - start

    graph = cluster.NeighbourIndex(None, "bench", exact_limit=0)
    keys = [embed.text_hash(t) for t in texts]
    start = time.perf_counter()
    graph.prepare(here, keys)  # builds the graph, then searches it here
    built_and_searched = time.perf_counter() - start
    ids_here = graph._ids.copy()
    start = time.perf_counter()
    graph.prepare(here, keys)  # the same graph searched again: the search alone
    search_here = time.perf_counter() - start

    started = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
            workers.connect(lc.scheduler_address) as runner:
        cluster_up = time.perf_counter() - started
        start = time.perf_counter()
        runner.client.run(lambda: load() is not None)
        worker_load = time.perf_counter() - start
        start = time.perf_counter()
        there = embed.encode(texts, backend=backend, runner=runner)
        encode_there = time.perf_counter() - start
        start = time.perf_counter()
        graph.prepare(here, keys, runner)
        search_there = time.perf_counter() - start
        same_neighbours = np.array_equal(graph._ids, ids_here)

    n = len(texts)
    print(f"LocalCluster of {args.workers} worker processes: up in {cluster_up:.1f}s, model loaded on the workers in {worker_load:.1f}s")
    print(f"{'':<34}{'in-process':>12}{'LocalCluster':>14}")
    print(f"{'encode (s)':<34}{encode_here:>12.1f}{encode_there:>14.1f}")
    print(f"{'encode (texts/s)':<34}{n / encode_here:>12.0f}{n / encode_there:>14.0f}")
    print(f"{'HNSW search of every vector (s)':<34}{search_here:>12.2f}{search_there:>14.2f}")
    print(f"(HNSW graph built and searched in-process: {built_and_searched:.2f}s)")
    print(f"vectors identical: {np.array_equal(here, there)} (largest difference {np.abs(here - there).max():.1e}); "
          f"neighbours identical: {same_neighbours}")


if __name__ == "__main__":
    main()
