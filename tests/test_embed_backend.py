"""The embedding backends: onnx int8 against torch, its per-machine file, length-sorted batches,
and the backend reaching the database's cache key. Offline: the ONNX file is exported from the
bundled weights into a temporary cache folder."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_helpers import ok
from conftest import GOOD_ARTICLE, SEEDS, open_store

SENTENCES = [
    "The central bank raised its main interest rate by half a point on Thursday.",
    "North Korea denied supplying Russia with artillery shells for the war in Ukraine.",
    "Officials said at least 41 people were killed when the building collapsed.",
    "The minister will travel to Seoul next week for talks with his counterpart.",
    "Markets fell.",
    "Rescue teams from more than twenty countries searched the rubble through the night, "
    "pulling survivors from collapsed apartment blocks as temperatures fell below freezing "
    "and aftershocks continued to shake the region for a second day.",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """A fresh cache folder in which the int8 file is made once; counts the exports."""
    from verify import embed

    folder = tmp_path_factory.mktemp("verify-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("VERIFY_CACHE_DIR", str(folder))
    exports = []
    real_export = embed._export_onnx

    def counting_export(model_folder, target, backend):
        exports.append(target)
        real_export(model_folder, target, backend)

    patch.setattr(embed, "_export_onnx", counting_export)
    embed.load_onnx.cache_clear()  # an encoder made earlier in this process read another folder
    path = embed.onnx_model_file()
    yield {"folder": folder, "path": path, "exports": exports}
    embed.load_onnx.cache_clear()
    patch.undo()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("backend, at_least", [("onnx", 0.99), ("onnx-fp32", 0.99999)])
def test_onnx_vectors_close_to_torch(onnx_cache, backend, at_least):
    from verify import embed

    torch_vectors = embed.encode(SENTENCES, backend="torch")
    onnx_vectors = embed.encode(SENTENCES, backend=backend)
    assert onnx_vectors.shape == torch_vectors.shape == (len(SENTENCES), 384)
    assert onnx_vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    assert cosines(onnx_vectors, torch_vectors).min() >= at_least
    # Close to their own sentence, not merely to every sentence.
    assert (onnx_vectors @ torch_vectors.T).argmax(axis=1).tolist() == list(range(len(SENTENCES)))


def test_onnx_file_made_once_and_reused(onnx_cache):
    from verify import embed

    path = onnx_cache["path"]
    assert path.is_file() and path.parent.parent == onnx_cache["folder"] / "onnx"
    assert path.name == "model_int8.onnx"
    assert onnx_cache["exports"].count(path) == 1
    made = path.stat().st_mtime_ns
    assert embed.onnx_model_file() == path
    embed.OnnxEncoder()  # a new encoder, as a second process would make
    assert onnx_cache["exports"].count(path) == 1
    assert path.stat().st_mtime_ns == made
    # Written through a temporary file renamed into place: nothing half-made is left beside it.
    assert sorted(p.name for p in path.parent.iterdir() if p.name != "model_fp32.onnx") == [".lock", "model_int8.onnx"]


def test_cache_file_named_by_weights_and_recipe(onnx_cache, monkeypatch):
    from verify import embed

    folder = embed.local_model_folder(None)
    first = embed.onnx_cache_path(folder)
    monkeypatch.setattr(embed, "ONNX_RECIPE", embed.ONNX_RECIPE + "-changed")
    assert embed.onnx_cache_path(folder) != first


@pytest.mark.parametrize("backend", ["torch", "onnx-fp32"])
def test_length_sorted_batches_keep_input_order(onnx_cache, backend, monkeypatch):
    from verify import embed

    # Lengths out of order, and batches and chunks small enough that sorting moves texts across them.
    texts = [SENTENCES[i] for i in (5, 4, 0, 3, 1, 2)]
    monkeypatch.setattr(embed, "CHUNK", 2)
    monkeypatch.setattr(embed, "BATCH_SIZE", 2)
    monkeypatch.setattr(embed, "ONNX_BATCH_SIZE", 2)
    embed.load_onnx.cache_clear()  # the encoder reads BATCH_SIZE when made
    together = embed.encode(texts, backend=backend)
    one_by_one = np.vstack([embed.encode([t], backend=backend) for t in texts])
    assert cosines(together, one_by_one).min() > 0.9999
    embed.load_onnx.cache_clear()


def test_int8_vectors_do_not_depend_on_the_other_texts(onnx_cache):
    from verify import embed

    encoder = embed.load_onnx(None, "onnx")
    alone = np.vstack([encoder.encode([t]) for t in SENTENCES])
    together = encoder.encode(list(reversed(SENTENCES)))[::-1]
    assert np.array_equal(alone, together)
    # Why it runs one text at a time: in one padded batch, int8's shared input scale moves them.
    batched = encoder.encode(SENTENCES, batch_size=len(SENTENCES))
    assert cosines(alone, batched).min() < 0.9999


@pytest.mark.parametrize("backend", ["torch", "onnx", "onnx-fp32"])
def test_a_repeated_text_is_encoded_once(onnx_cache, backend):
    from verify import embed

    encoded = []
    texts = [SENTENCES[0], SENTENCES[1], SENTENCES[0], SENTENCES[0]]
    vectors = embed.encode(texts, backend=backend, progress=encoded.append)
    assert sum(encoded) == 2
    assert np.array_equal(vectors[0], vectors[2]) and np.array_equal(vectors[0], vectors[3])
    assert not np.array_equal(vectors[0], vectors[1])


def test_model_keys_keep_backends_apart():
    from verify import embed

    assert embed.model_key(None, "torch") == "all-MiniLM-L6-v2"
    assert embed.model_key(None, "onnx") == "all-MiniLM-L6-v2+onnx-int8"
    assert embed.model_key(None, "onnx-fp32") == "all-MiniLM-L6-v2+onnx-fp32"
    assert embed.split_model_key("all-MiniLM-L6-v2+onnx-fp32") == (None, "onnx-fp32")
    assert embed.split_model_key("all-MiniLM-L6-v2+onnx-int8") == (None, "onnx")
    assert embed.split_model_key("all-MiniLM-L6-v2") == (None, "torch")
    assert embed.split_model_key("/models/other") == ("/models/other", "torch")
    # Another model runs on torch unless onnx is asked for.
    assert embed.resolve_backend("/models/other") == "torch"
    assert embed.resolve_backend(None) == embed.DEFAULT_BACKEND
    with pytest.raises(ValueError, match="unknown embedding backend"):
        embed.resolve_backend(None, "tensorflow")


def test_onnx_refuses_a_model_without_a_local_tokenizer(tmp_path):
    from verify import embed

    with pytest.raises(RuntimeError, match="--backend torch"):
        embed.onnx_model_file(str(tmp_path))


@pytest.mark.parametrize("backend", ["torch", "onnx", "onnx-fp32"])
def test_backend_reaches_the_store_key(onnx_cache, backend, make_file, tmp_path):
    from verify import check, embed

    article = make_file("rates.txt", GOOD_ARTICLE)
    db_path = tmp_path / f"{backend}.db"
    ok(CliRunner(), "build", article, "--db", db_path, "--out", tmp_path / "report", "--backend", backend)
    db = open_store(db_path)
    key = embed.model_key(None, backend)
    assert {r["model"] for r in db.query("select distinct model from embeddings")} == {key}
    assert [r["model"] for r in db.query("select model from builds")] == [key]
    # `verify check` reads the corpus's vectors under the build's key: nothing is encoded again.
    claims, vectors, used = check.corpus_vectors(db)
    assert used == key and len(claims) == len(vectors) == 3
    db.conn.close()


def test_the_two_backends_never_share_cached_vectors(onnx_cache, make_file, tmp_path):
    from verify import pipeline

    article = make_file("rates.txt", GOOD_ARTICLE)
    db_path = tmp_path / "both.db"
    first = pipeline.build([article], db_path, None, backend="torch")
    again = pipeline.build([article], db_path, None, backend="torch")
    other = pipeline.build([article], db_path, None, backend="onnx")
    assert first.n_encoded == 3 and again.n_encoded == 0
    assert other.n_encoded == 3  # the torch vectors in the cache are not taken for onnx ones


def test_an_unwritable_cache_folder_is_named_with_the_way_out(tmp_path, monkeypatch):
    from verify import embed

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(blocker))
    with pytest.raises(RuntimeError, match="VERIFY_CACHE_DIR"):
        embed.onnx_model_file(None, "onnx")


def test_the_default_backend_builds_the_seeds_as_torch_does(seed_build, tmp_path):
    """Why onnx-fp32 may be the default: the same clusters, statuses and conflicts as torch."""
    from verify import embed, pipeline, store

    assert embed.resolve_backend(None) == "onnx-fp32"
    torch_db = tmp_path / "torch.db"
    pipeline.build([SEEDS], torch_db, None, backend="torch")

    def outcome(path):
        db = open_store(path)
        members = {}
        for row in db.query("select id, cluster_id from claims"):
            members.setdefault(row["cluster_id"], set()).add(row["id"])
        groups = {frozenset(m) for m in members.values()}
        statuses = sorted((min(members[r["id"]]), r["status"]) for r in db.query("select id, status from clusters"))
        flagged = {r["pair_key"] for r in store.conflicts(db)}
        db.conn.close()
        return groups, statuses, flagged

    assert outcome(seed_build["db"]) == outcome(torch_db)


@pytest.mark.parametrize("backend", ["onnx", "onnx-fp32"])
def test_batches_on_threads_give_the_vectors_of_one_thread(onnx_cache, backend, monkeypatch):
    """The batches of an ONNX encoder run side by side on `encode_threads` threads: the vectors,
    their order and the progress reported are those of running the batches one after another."""
    from verify import embed

    texts = [f"{s} (item {i})" if i % 3 else s for i, s in enumerate(SENTENCES * 7)]
    monkeypatch.setattr(embed, "ONNX_BATCH_SIZE", 2)
    runs = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("VERIFY_ENCODE_THREADS", threads)
        embed.load_onnx.cache_clear()
        encoder = embed.load_onnx(None, backend)
        assert encoder.threads == int(threads)
        reported = []
        runs[threads] = (embed.encode(texts, backend=backend, progress=reported.append), sum(reported))
    embed.load_onnx.cache_clear()
    (one, n_one), (three, n_three) = runs["1"], runs["3"]
    assert one.shape == (len(texts), 384)
    assert np.array_equal(one, three)  # bit for bit
    assert n_one == n_three == len(set(texts))
    # Each text's nearest vector is its own text's. By text, not by row: a text repeated shares
    # one vector, and which of its rows wins a matrix product's rounding is not fixed.
    assert [texts[j] for j in (one @ one.T).argmax(axis=1)] == texts
