"""A `verify serve` app on a free port in a thread, and database copies for the serve tests."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from pathlib import Path

import uvicorn

from verify import serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_db(source: Path, target: Path) -> Path:
    """A consistent copy (SQLite's backup: the WAL's content included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


class Server:
    """uvicorn serving `create_app(db_path)` on 127.0.0.1 in a daemon thread."""

    def __init__(self, db_path: Path, token: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        app = serve.create_app(db_path, "127.0.0.1", self.port, token=token)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the test server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
