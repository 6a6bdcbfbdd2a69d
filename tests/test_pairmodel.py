"""The shipped sentence-pair model (models/pair/model): loads offline, answers in LABELS order."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from verify import pairmodel

NEGATION = ("The army confirmed that the bridge was destroyed in the attack on Monday.",
            "The army confirmed that the bridge was not destroyed in the attack on Monday.")
PARAPHRASE = ("The army confirmed that the bridge was destroyed in the attack on Monday.",
              "According to the army, the bridge was destroyed in Monday's attack.")
UNRELATED = ("The army confirmed that the bridge was destroyed in the attack on Monday.",
             "The central bank left interest rates unchanged at its meeting in March.")


@pytest.fixture(scope="module")
def model():
    loaded = pairmodel.load()
    assert loaded is not None, f"the pair model is missing from {pairmodel.MODEL_DIR}"
    return loaded


def test_model_files_ship_in_fp16_with_labels():
    config = json.loads((pairmodel.MODEL_DIR / "config.json").read_text())
    assert {int(k): v for k, v in config["id2label"].items()} == {0: "contradiction", 1: "entailment", 2: "neutral"}
    weights = list(pairmodel.MODEL_DIR.glob("*.safetensors"))
    assert weights and sum(w.stat().st_size for w in weights) < 100e6
    assert config.get("dtype", config.get("torch_dtype")) == "float16"


def test_absent_folder_gives_none(tmp_path):
    assert pairmodel.load(tmp_path / "nothing-here") is None


def test_load_is_cached(model):
    assert pairmodel.load() is model


def test_shape_order_and_probabilities(model):
    probs = model.predict([NEGATION, PARAPHRASE, UNRELATED])
    assert probs.shape == (3, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert (probs >= 0).all()
    assert pairmodel.LABELS == ("contradiction", "entailment", "neutral")
    assert model.predict([]).shape == (0, 3)


def test_negation_scores_contradiction_above_paraphrase(model):
    probs = model.predict([NEGATION, PARAPHRASE, UNRELATED])
    contradiction, entailment, neutral = (pairmodel.LABELS.index(x) for x in ("contradiction", "entailment", "neutral"))
    assert probs[0, contradiction] > probs[1, contradiction]
    assert probs[0, contradiction] > 0.5
    assert probs[1, entailment] > probs[0, entailment]
    assert probs[2, neutral] > probs[2, contradiction]


def test_deterministic_and_batch_independent(model):
    pairs = [NEGATION, PARAPHRASE, UNRELATED] * 3
    one = model.predict(pairs, batch_size=32)
    again = model.predict(pairs, batch_size=2)
    assert np.allclose(one, again, atol=1e-4)
    assert np.allclose(one[:3], one[3:6], atol=1e-5)


def test_symmetrised_scores_do_not_depend_on_order(model):
    if not model.symmetric:
        pytest.skip("the shipped setting scores one order only")
    forward = model.predict([NEGATION])
    backward = model.predict([(NEGATION[1], NEGATION[0])])
    assert np.allclose(forward, backward, atol=1e-4)


def test_loads_and_predicts_with_the_network_cut(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    pairmodel.load.cache_clear()
    try:
        model = pairmodel.load()
        assert model is not None
        assert model.predict([PARAPHRASE]).shape == (1, 3)
    finally:
        pairmodel.load.cache_clear()
