"""`verify serve`: the report, live from the database, with review controls (Starlette + uvicorn).

The page is the static report's template with a `live` flag: each conflict card gets Confirm,
Dismiss and a note, saved at once through a JSON POST; the answer carries the new counts, so the
page updates without a reload. Each request opens its own connection and each write is its own
short transaction (WAL, busy timeout: see store.py), so two tabs, the CLI and a running build
can all write without losing one another's work.

A local server that writes is a target for other pages the browser has open, so:
- it binds 127.0.0.1 unless told otherwise (and then warns);
- a request whose Host header is not this server's (bound host, localhost or 127.0.0.1, with the
  port) is refused: a DNS-rebinding page would send its own name;
- every write needs the per-server token (random at start, embedded in the page, sent back in
  the X-CSRF-Token header) and must come from this origin (Origin, else Sec-Fetch-Site), as JSON;
- the page names no remote resource, and a Content-Security-Policy pins its one inline script
  and lets it connect to this server only; every text from the articles is autoescaped.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from verify import report, stats, store

TOKEN_HEADER = "x-csrf-token"
MAX_NOTE = 2000  # characters; the note field says the same


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> set[str]:
    """Host header values this server answers to: its own name for itself, with the port."""
    names = {host, "localhost", "127.0.0.1"}
    if ":" in host and not host.startswith("["):
        names.add(f"[{host}]")  # an IPv6 address is bracketed in a Host header
    if host in ("0.0.0.0", "::"):  # every interface: the machine's own names reach it
        hostname = socket.gethostname()
        names |= {hostname, socket.getfqdn()}
        try:
            names |= {info[4][0] for info in socket.getaddrinfo(hostname, None)}
        except OSError:
            pass
    return {f"{name}:{port}".lower() for name in names}


def security_headers(script_hash: str | None = None) -> dict[str, str]:
    script_src = f"'{script_hash}'" if script_hash else "'none'"
    return {
        "Content-Security-Policy": (f"default-src 'none'; script-src {script_src}; style-src 'unsafe-inline'; "
                                    "connect-src 'self'; img-src 'none'; form-action 'none'; base-uri 'none'; "
                                    "frame-ancestors 'none'"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


def refusal(scope: dict, token: str, hosts: set[str]) -> Response | None:
    """Why this request must not reach the app, as a response; None when it may."""
    headers = Headers(scope=scope)
    host = headers.get("host", "").lower()
    if host not in hosts:
        return PlainTextResponse("refused: this server does not answer to that Host header\n", 400)
    if scope["method"] in ("GET", "HEAD"):
        return None
    if not secrets.compare_digest(headers.get(TOKEN_HEADER, "").encode(), token.encode()):
        return JSONResponse({"error": "refused: missing or wrong CSRF token (reload the page)"}, 403)
    origin, fetch_site = headers.get("origin"), headers.get("sec-fetch-site")
    if origin is not None and origin.lower() != f"http://{host}":
        return JSONResponse({"error": "refused: the request comes from another origin"}, 403)
    if origin is None and fetch_site != "same-origin":
        return JSONResponse({"error": "refused: not a same-origin request"}, 403)
    if fetch_site is not None and fetch_site != "same-origin":
        return JSONResponse({"error": "refused: not a same-origin request"}, 403)
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return JSONResponse({"error": "refused: send JSON (Content-Type: application/json)"}, 415)
    return None


class Guard:
    """ASGI middleware: the Host, token and origin checks before anything runs, and the security
    headers on every answer."""

    def __init__(self, app, token: str, hosts: set[str]):
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refused = refusal(scope, self.token, self.hosts)
        headers = security_headers()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.decode().lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": list(message.get("headers", [])) + [
                    (k.lower().encode(), v.encode()) for k, v in headers.items() if k.lower() not in present]}
            await send(message)

        if refused is not None:
            return await refused(scope, receive, send_with_headers)
        return await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------------
# What the endpoints do, as plain functions over a database path
# ---------------------------------------------------------------------------


def page(db_path: str | Path, token: str) -> tuple[str, str]:
    """(html, script hash) of the live page."""
    with store.opened(db_path) as db:
        html = report.render(db, live={"csrf_token": token})
    return html, report.script_hash(report.page_script(live=True))


def state_after(db, conflict: dict) -> dict:
    """What the page needs to show a review: the conflict, the counts, its clusters, the error rate."""
    counts = {row["status"]: row["n"] for row in db.query("select status, count(*) as n from clusters group by status")}
    for status in report.STATUS_ORDER:
        counts.setdefault(status, 0)
    counts["to-review"] = next(iter(db.query(
        "select count(*) as n from conflicts left join reviews on reviews.pair_key = conflicts.pair_key "
        "where coalesce(reviews.decision, 'pending') = 'pending'")))["n"]
    cluster_ids = [c["cluster_id"] for c in conflict["claims"] if c]
    clusters = {r["id"]: r["status"] for r in db.query(
        f"select id, status from clusters where id in ({','.join('?' * len(cluster_ids))})", cluster_ids)}
    return {"conflict": {"id": conflict["id"], "review": conflict["review"], "note": conflict["note"],
                         "reviewed_at": conflict["reviewed_at"]},
            "counts": counts, "clusters": clusters, "stats": stats.error_rate(db)}


class BadRequest(Exception):
    pass


def review_request(db_path: str | Path, body: dict) -> dict:
    conflict_id, decision, note = body.get("id"), body.get("decision"), body.get("note")
    if not isinstance(conflict_id, str) or not conflict_id:
        raise BadRequest("'id' must name a conflict")
    if decision not in store.REVIEW_STATES:
        raise BadRequest(f"'decision' must be one of {', '.join(store.REVIEW_STATES)}")
    if note is not None and not isinstance(note, str):
        raise BadRequest("'note' must be text")
    note = (note or "").strip()[:MAX_NOTE] or None
    with store.opened(db_path) as db:
        return state_after(db, store.review(db, conflict_id, decision, note))


def undo_request(db_path: str | Path, body: dict) -> dict:
    conflict_id = body.get("id")
    if not isinstance(conflict_id, str) or not conflict_id:
        raise BadRequest("'id' must name a conflict")
    with store.opened(db_path) as db:
        return state_after(db, store.undo_review(db, conflict_id))


# ---------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------


def create_app(db_path: str | Path, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
               on_ready: Callable[[], None] | None = None):
    """The ASGI app serving the database at `db_path` (which must exist), wrapped in `Guard`.
    `token`: the CSRF token (default: random, new for each server)."""
    db_path = Path(db_path)
    token = token or secrets.token_urlsafe(32)

    async def index(request: Request) -> Response:
        html, digest = await run_in_threadpool(page, db_path, token)
        return HTMLResponse(html, headers=security_headers(digest))

    async def read_json(request: Request) -> dict:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def endpoint(action):
        async def handle(request: Request) -> Response:
            try:
                body = await read_json(request)
                # Plain sync work (SQLite): off the event loop, in Starlette's thread pool.
                return JSONResponse(await run_in_threadpool(action, db_path, body))
            except BadRequest as error:
                return JSONResponse({"error": str(error)}, 400)
            except LookupError as error:
                return JSONResponse({"error": str(error.args[0])}, 404)
        return handle

    async def state(request: Request) -> Response:
        def read():
            with store.opened(db_path) as db:
                return {"conflicts": [{"id": c["id"], "review": c["review"], "note": c["note"], "score": c["score"],
                                       "kind": c["kind"]} for c in store.conflicts(db)],
                        "stats": stats.error_rate(db)}
        return JSONResponse(await run_in_threadpool(read))

    @asynccontextmanager
    async def lifespan(app):
        if on_ready is not None:
            on_ready()
        yield

    app = Starlette(routes=[
        Route("/", index, methods=["GET"]),
        Route("/api/state", state, methods=["GET"]),
        Route("/api/review", endpoint(review_request), methods=["POST"]),
        Route("/api/undo", endpoint(undo_request), methods=["POST"]),
    ], lifespan=lifespan)
    return Guard(app, token, allowed_hosts(host, port))


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"


def exposure_warning(host: str) -> str | None:
    if is_loopback(host):
        return None
    return (f"warning: serving on {host}, not on this machine alone: anyone who can reach it can read the "
            "report, and review conflicts from the page it serves")


def run(db_path: str | Path, host: str = "127.0.0.1", port: int = 8000, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until interrupted (uvicorn)."""
    import uvicorn

    if not Path(db_path).exists():
        raise store.StoreError(f"{db_path}: no database here; run `verify build` first")
    store.open_db(db_path).conn.close()  # a bad file fails here, with its name, before the server starts
    uvicorn.run(create_app(db_path, host, port, on_ready=on_ready), host=host, port=port, log_level="warning",
                server_header=False, proxy_headers=False)
