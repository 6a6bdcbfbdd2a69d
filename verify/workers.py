"""Where the heavy stages run: in this process, or on the workers of a Dask cluster.

`verify build --scheduler ADDRESS` encodes the claim texts and searches the nearest-neighbour
graph on the workers of a running `dask.distributed` scheduler; without it the same functions run
here, one block after another. A stage cuts its work into blocks and calls
`runner.map_blocks(fn, blocks, *args)`: `fn(block, *args)` for every block, the results in block
order. Nothing else changes between the two: the blocks, the function and its arguments are the
same, so the results are too (tests/test_distributed.py).

Only the client process (the one `verify build` runs in) opens the database: workers get texts
or vectors and return vectors or neighbours, and SQLite keeps its one writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

# Seconds to wait for the scheduler to answer, and then for at least one worker to be there.
CONNECT_TIMEOUT = 10.0


class SchedulerUnreachable(RuntimeError):
    """The scheduler address did not answer, or has no worker; nothing was computed or stored."""


@dataclass
class Runner:
    """Runs blocks of work: here when `client` is None, else on the Dask cluster behind `client`."""

    client: Any = None
    address: str | None = None

    @property
    def local(self) -> bool:
        return self.client is None

    def map_blocks(self, fn: Callable, blocks: Iterable, *args, progress: Callable | None = None) -> list:
        """[fn(block, *args) for block in blocks], computed here or on the cluster's workers.

        On a cluster every numpy array among `args` is sent to each worker once
        (`client.scatter(..., broadcast=True)`), not once a block; each block is one task, and
        `progress(block)` is called here as each one finishes, in whatever order they do."""
        blocks = list(blocks)
        if self.client is None:
            results = []
            for block in blocks:
                results.append(fn(block, *args))
                if progress:
                    progress(block)
            return results
        return self._on_cluster(fn, blocks, args, progress)

    def _on_cluster(self, fn: Callable, blocks: list, args: tuple, progress: Callable | None) -> list:
        from distributed import as_completed

        client = self.client
        try:
            shared = [client.scatter(a, broadcast=True, hash=False) if isinstance(a, np.ndarray) else a for a in args]
            futures = [client.submit(fn, block, *shared, pure=False) for block in blocks]
            position = {f.key: i for i, f in enumerate(futures)}
            results: list = [None] * len(blocks)
            try:
                for future, result in as_completed(futures, loop=client.loop, with_results=True):
                    i = position[future.key]
                    results[i] = result
                    if progress:
                        progress(blocks[i])
            finally:
                client.cancel(futures + [s for s in shared if hasattr(s, "key")])
            return results
        except RuntimeError:  # the stage's own error, raised on a worker (a model it cannot load)
            raise
        except (OSError, TimeoutError) as err:
            raise RuntimeError(f"the Dask cluster at {self.address} failed during {fn.__name__} ({_reason(err)})") from None
        except Exception as err:
            if type(err).__name__ == "KilledWorker":  # a worker died (out of memory?) on the same task, twice
                raise RuntimeError(f"Dask workers of {self.address} died running {fn.__name__} ({_reason(err)}); "
                                   f"see the workers' logs") from None
            raise

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def connect(address: str | None, timeout: float | None = None) -> Runner:
    """A runner for `address` (a Dask scheduler, `tcp://host:8786`), or this process when None.

    Raises SchedulerUnreachable, with one line saying what to check, when nothing answers there
    within `timeout` seconds (CONNECT_TIMEOUT) or the scheduler has no worker."""
    if not address:
        return Runner()
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address} ({_reason(err)}): check that "
                                   f"`dask scheduler` runs there and its port is open") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError) as err:
        client.close()
        raise SchedulerUnreachable(f"the Dask scheduler at {address} has no worker ({_reason(err)}); start "
                                   f"`dask worker {address}` on machines with verify installed") from None
    return Runner(client, address)


# --- pure per-item work on this machine's cores ------------------------------------------------

# Items from which `local_map` runs in worker processes: below, starting them (each imports the
# stage's modules, ~1 s) costs more than it saves.
PROCESS_MAP_FROM = 2000


def cores(variable: str = "VERIFY_CORES") -> int:
    """Cores this process may run on: $`variable` when set, else the affinity mask (else cpu_count)."""
    import os

    if os.environ.get(variable, "").strip():
        return max(1, int(os.environ[variable]))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _apply_all(fn: Callable, items: list) -> list:
    return [fn(item) for item in items]


def local_map(fn: Callable, items: list, min_items: int | None = None) -> list:
    """[fn(item) for item in items], on `cores()` worker processes when there are at least
    `min_items` (default PROCESS_MAP_FROM) items and more than one core, else here.

    For the pure Python stages (segmenting articles, reading claims' conflict cues): `fn` must be
    a module-level function of its item alone whose result does not depend on where it runs, so
    the results are the same either way (tests/test_pipeline.py). The workers are forked (they
    start at once with what this process has loaded, and a script calling `pipeline.build` needs
    no `__main__` guard, which spawned ones would) and leave through `os._exit` when this
    returns, so the database connection they inherit is never touched by them; only the forking
    thread exists in them, and they run nothing but `fn`. Items go in contiguous slices, results
    come back in order. Where fork is missing, everything runs here."""
    items = list(items)
    pool = fork_pool(PROCESS_MAP_FROM if min_items is None else min_items, len(items)) if items else None
    if pool is None:
        return [fn(item) for item in items]
    with pool:
        return pool_map(pool, cores(), fn, items)  # fork_pool starts cores() workers


def pool_map(pool, n_workers: int, fn: Callable, items: list, slices_a_worker: int = 8, per_slice: bool = False) -> list:
    """[fn(item) for item in items] on the processes of `pool`, in contiguous slices (a few a
    worker, so one slow slice does not idle the rest), the results in order. `per_slice`: `fn`
    takes a whole slice and returns its items' results."""
    size = max(1, -(-len(items) // (n_workers * slices_a_worker)))
    slices = [items[i : i + size] for i in range(0, len(items), size)]
    parts = list(pool.map(fn, slices) if per_slice else pool.map(_apply_all, [fn] * len(slices), slices))
    return [r for part in parts for r in part]


def fork_pool(min_items: int, n_items: int):
    """A pool of `cores()` forked worker processes (see `local_map`) when there are at least
    `min_items` items and more than one core and fork exists, else None; the caller shuts it down.
    The workers are forked at the pool's first use: they see this process's memory as it is then."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = cores()
    if n < 2 or n_items < min_items or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork"))
