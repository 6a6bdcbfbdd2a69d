"""`verify build --scheduler`: the embedding and the neighbour search on Dask workers give what
they give in-process, bit for bit; the database stays with the client; an address that does not
answer is one line and exit 1.

The cluster is a `LocalCluster` of 2 worker processes (1 thread each) on 127.0.0.1, as a real
cluster runs them: blocks, arguments and results go through pickling and TCP, and each worker
loads the model itself from the package folder, offline, into its own process's caches (a
threaded cluster would share this process's loaded model and module state, and test neither).
It starts in about a second and needs no network beyond the loopback.
"""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from conftest import SEEDS

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def on_workers(dask_cluster):
    from verify import workers

    with workers.connect(dask_cluster.scheduler_address) as runner:
        yield runner


@pytest.fixture
def blocks_run(monkeypatch):
    """Records (function name, on a cluster?) for each map_blocks call."""
    from verify import workers

    calls = []
    real = workers.Runner.map_blocks

    def recording(self, fn, blocks, *args, progress=None):
        calls.append((fn.__name__, not self.local))
        return real(self, fn, blocks, *args, progress=progress)

    monkeypatch.setattr(workers.Runner, "map_blocks", recording)
    return calls


def claim_texts(seed_claims) -> list[str]:
    """70 texts of many lengths (seed claims, and pairs of them), with repeats."""
    texts = [c["text"] for c in seed_claims][:40]
    return texts + [a + " " + b for a, b in zip(texts[:20], texts[5:])] + texts[:10]


def test_vectors_on_workers_equal_in_process(on_workers, seed_claims, monkeypatch):
    """The default backend's vectors; torch's and int8's were the same bit for bit too when
    tried (README, Running on a cluster), but a torch worker takes ~10 s to start here."""
    from verify import embed

    backend = embed.DEFAULT_BACKEND
    monkeypatch.setattr(embed, "CHUNK", 16)  # several chunks, so several tasks on the 2 workers
    texts = claim_texts(seed_claims)
    distinct = list(dict.fromkeys(texts))
    here = embed.encode(texts, backend=backend)
    # Chunked or not, in-process: the same batches as one call over all the texts.
    assert np.array_equal(here[: len(distinct)], embed.load_onnx(None, backend).encode(distinct))
    done = []
    there = embed.encode(texts, backend=backend, runner=on_workers, progress=done.append)
    assert there.dtype == np.float32 and there.shape == here.shape
    assert np.array_equal(there, here)  # identical, not merely close
    assert sum(done) == len(distinct) and len(done) == -(-len(distinct) // 16)  # one call a chunk
    # The work ran in the worker processes, each of which loaded the model for itself.
    loaded = on_workers.client.run(lambda: embed.load_onnx.cache_info().currsize)
    assert len(loaded) == 2 and sum(loaded.values()) >= 1


def test_embed_texts_on_workers_encodes_only_what_the_cache_lacks(on_workers, seed_claims):
    from verify import embed

    texts = claim_texts(seed_claims)[:30]
    full, _ = embed.embed_texts(texts, None, {})
    cache = {embed.text_hash(t): v for t, v in zip(texts[:20], full[:20])}
    vectors, new = embed.embed_texts(texts, None, cache, runner=on_workers)
    assert np.array_equal(vectors, full)
    assert new and set(new) == {embed.text_hash(t) for t in texts[20:]} - set(cache)


def test_a_worker_with_other_weights_refuses(on_workers):
    from verify import embed

    with pytest.raises(RuntimeError, match="has other weights than the client's"):
        on_workers.map_blocks(embed.encode_chunk, [["Markets fell."]], None, embed.DEFAULT_BACKEND, "0" * 24)


def clustered_vectors(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Unit vectors around n // 10 centres, so that neighbours mean something."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 10, dim))
    vectors = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_hnsw_search_on_workers_gives_the_same_neighbours(on_workers, monkeypatch, tmp_path):
    from verify import cluster

    monkeypatch.setattr(cluster, "QUERY_BLOCK", 400)  # 2,000 distinct vectors: 5 blocks
    vectors = clustered_vectors(2000)
    keys = [f"text-{i}" for i in range(2000)]
    # Claims whose embedding input repeats share a key and a vector (reprinted wire copy).
    vectors = np.vstack([vectors, vectors[:50]])
    keys = keys + keys[:50]
    index = cluster.NeighbourIndex(tmp_path / "n.faiss", "test-model", exact_limit=100)
    assert index.prepare(vectors, keys)
    ids, sims = index._ids.copy(), index._sims.copy()
    edges = index.edges(cluster.NEIGHBOURS, 0.3)
    conflict_edges = cluster.nearest_neighbour_edges(vectors, 12, 0.5, index)
    assert len(edges) > 1000

    index._found = None  # search every key again (a prepare reuses the rows of keys it searched before)
    assert index.prepare(vectors, keys, on_workers)
    assert index.n_added == 0 and index.n_searched == 2000  # the same graph, searched on the workers this time
    assert np.array_equal(index._ids, ids) and np.array_equal(index._sims, sims)
    assert index.edges(cluster.NEIGHBOURS, 0.3) == edges
    assert cluster.nearest_neighbour_edges(vectors, 12, 0.5, index) == conflict_edges
    # Each worker read the graph once, from the bytes sent to it.
    read = on_workers.client.run(lambda: cluster._worker_graph["graph"].ntotal if cluster._worker_graph else 0)
    assert set(read.values()) <= {0, 2000} and max(read.values()) == 2000


def corpus(db_path) -> dict:
    """What a build stored, without the ids of the build itself."""
    from conftest import open_store
    from verify import store

    db = open_store(db_path)
    try:
        data = store.export(db)
    finally:
        db.conn.close()
    return {
        "claims": sorted((c["id"], c["cluster_id"]) for c in data["claims"]),
        "clusters": sorted((c["id"], c["status"], tuple(c["claim_ids"]), tuple(c["sources"])) for c in data["clusters"]),
        "conflicts": sorted((tuple(c["claim_ids"]), c["kind"], c["score"]) for c in data["conflicts"]),
    }


@pytest.fixture(scope="module")
def seeds_in_process(tmp_path_factory):
    from verify import pipeline

    db_path = tmp_path_factory.mktemp("in-process") / "verify.db"
    pipeline.build([SEEDS], db_path)
    return db_path


def test_seeds_build_on_workers_is_the_in_process_build(dask_cluster, seeds_in_process, blocks_run, tmp_path):
    from verify import pipeline

    result = pipeline.build([SEEDS], tmp_path / "verify.db", scheduler=dask_cluster.scheduler_address)
    assert ("encode_chunk", True) in blocks_run
    assert result.n_encoded > 50
    expected = corpus(seeds_in_process)
    assert corpus(tmp_path / "verify.db") == expected
    assert len(expected["clusters"]) > 50 and len(expected["conflicts"]) >= 5


def test_seeds_build_through_the_hnsw_graph_on_workers(dask_cluster, blocks_run, monkeypatch, tmp_path):
    """The seeds made big enough for the persisted graph: same clusters and conflicts both ways."""
    from verify import cluster, pipeline

    monkeypatch.setattr(cluster, "EXACT_LIMIT", 10)
    pipeline.build([SEEDS], tmp_path / "here.db")
    assert ("search_graph", False) in blocks_run and (tmp_path / "here.db.faiss").is_file()
    pipeline.build([SEEDS], tmp_path / "there.db", scheduler=dask_cluster.scheduler_address)
    assert ("search_graph", True) in blocks_run and ("encode_chunk", True) in blocks_run
    assert corpus(tmp_path / "there.db") == corpus(tmp_path / "here.db")


def test_cli_build_with_scheduler(dask_cluster, blocks_run, make_file, tmp_path):
    from typer.testing import CliRunner

    from conftest import GOOD_ARTICLE
    from verify.cli import app

    article = make_file("rates.txt", GOOD_ARTICLE)
    result = CliRunner().invoke(app, ["build", str(article), "--db", str(tmp_path / "v.db"), "--out", str(tmp_path / "out"),
                                      "--scheduler", dask_cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    assert "1 articles, 3 claims" in result.stdout
    assert blocks_run == [("encode_chunk", True)]  # 3 claims: the exact search, here


def test_unreachable_scheduler_is_one_line_and_leaves_the_database(seeds_in_process, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from verify import workers
    from verify.cli import app

    monkeypatch.setattr(workers, "CONNECT_TIMEOUT", 0.5)
    db_path = tmp_path / "verify.db"
    shutil.copy(seeds_in_process, db_path)
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    result = CliRunner().invoke(app, ["build", str(SEEDS), "--db", str(db_path), "--out", str(tmp_path / "out"),
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 1, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("verify:")]
    assert len(said) == 1, result.stderr
    assert said[0].startswith("verify: cannot reach the Dask scheduler at tcp://127.0.0.1:1 (")
    assert "the database is unchanged" in said[0]
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verify.db"]
    assert corpus(db_path) == corpus(seeds_in_process)


def test_a_scheduler_without_workers_is_named():
    from distributed import LocalCluster

    from verify import workers

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        with pytest.raises(workers.SchedulerUnreachable, match="has no worker.*dask worker"):
            workers.connect(empty.scheduler_address, timeout=0.5)


def test_without_a_scheduler_everything_runs_here(blocks_run, seed_claims):
    from verify import embed, workers

    runner = workers.connect(None)
    assert runner.local and runner.client is None
    embed.encode([c["text"] for c in seed_claims[:5]])
    assert blocks_run == [("encode_chunk", False)]
