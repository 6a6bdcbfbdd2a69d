"""The shipped sentence-pair model: how two claims relate (contradiction / entailment / neutral).

A sentence-transformers CrossEncoder fine-tuned from all-MiniLM-L6-v2 (see models/pair/README.md),
stored in fp16 in models/pair/model/ and run in fp32 on the CPU. Nothing is downloaded: the
folder is loaded with HF_HUB_OFFLINE=1 and local_files_only.

    model = pairmodel.load()           # None when the folder is absent
    probs = model.predict([(a, b)])    # shape (n, 3), columns in LABELS order, rows sum to 1
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "pair" / "model"
LABELS = ("contradiction", "entailment", "neutral")
# Average the two orders (a, b) and (b, a): contradiction is symmetric, and on the development
# stories the averaged P(contradiction) ranks gold conflicts above compatible pairs at least as
# well as one order does (models/pair/evaluation.json, c_stories).
SYMMETRIC = True


class PairModel:
    def __init__(self, model, symmetric: bool = SYMMETRIC):
        self.model = model
        self.symmetric = symmetric
        labels = {str(v).lower(): int(k) for k, v in (model.config.id2label or {}).items()}
        missing = [name for name in LABELS if name not in labels]
        if missing:
            raise RuntimeError(f"pair model labels {sorted(labels)} lack {missing}")
        self._columns = [labels[name] for name in LABELS]

    def _one_way(self, pairs: list[tuple[str, str]], batch_size: int) -> np.ndarray:
        probs = self.model.predict([(str(a), str(b)) for a, b in pairs], batch_size=batch_size,
                                   apply_softmax=True, show_progress_bar=False, convert_to_numpy=True)
        return np.atleast_2d(np.asarray(probs, dtype=np.float32))[:, self._columns]

    def predict(self, pairs: list[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """Probabilities, shape (len(pairs), 3), columns in LABELS order."""
        pairs = list(pairs)
        if not pairs:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        import torch

        with torch.inference_mode():
            probs = self._one_way(pairs, batch_size)
            if self.symmetric:
                probs = (probs + self._one_way([(b, a) for a, b in pairs], batch_size)) / 2
        return probs


@lru_cache(maxsize=4)
def _load(path: str) -> PairModel | None:
    if not (Path(path) / "config.json").exists():
        return None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    try:
        # Stored in fp16 to keep the file small; computed in fp32 (fp16 on a CPU is slow and coarse).
        model = CrossEncoder(path, device="cpu", local_files_only=True, model_kwargs={"dtype": torch.float32})
    except Exception as err:
        raise RuntimeError(f"{path}: cannot load pair model ({type(err).__name__}: {err})".splitlines()[0]) from None
    model.eval()
    return PairModel(model)


def load(path: str | Path | None = None) -> PairModel | None:
    """The pair model in `path` (default MODEL_DIR), loaded once; None when the folder is absent."""
    return _load(str(Path(path) if path else MODEL_DIR))


load.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
