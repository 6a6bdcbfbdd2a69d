"""The `verify` command: parses arguments, calls the library, prints. No logic of its own."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import threading
import time
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from verify import check as checking
from verify import cluster, conflicts as conflict_rules, pipeline, report, store
from verify import stats as review_stats

app = typer.Typer(
    help="Claim-and-source verification for news: build a corpus, then inspect sources, claims and clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped or in CI, tables get a reading width rather than rich's 80-column fallback.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

DEFAULT_DB = Path("reports/verify.db")
DbOption = typer.Option(DEFAULT_DB, "--db", help="SQLite database.", dir_okay=False)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


class Status(str, Enum):
    corroborated = cluster.CORROBORATED
    single_source = cluster.SINGLE_SOURCE
    conflicting = cluster.CONFLICTING


class Review(str, Enum):
    pending = "pending"
    confirmed = "confirmed"
    dismissed = "dismissed"


# The rules' kinds, plus what an NLI model may add.
Kind = Enum("Kind", {kind: kind for kind in (*conflict_rules.KINDS, "contradiction")}, type=str)


NliOption = typer.Option(None, "--nli-model", help="Local NLI cross-encoder folder (contradiction/entailment/neutral labels), used on top of the rules.")


def load_judge(path: Optional[str]):
    if not path:
        return None
    try:
        return conflict_rules.NliJudge(path)
    except RuntimeError as error:
        fail(str(error))


class ExportFormat(str, Enum):
    json = "json"
    csv = "csv"
    claimreview = "claimreview"


class Backend(str, Enum):
    torch = "torch"
    onnx = "onnx"
    onnx_fp32 = "onnx-fp32"


def fail(message: str) -> None:
    err.print(f"verify: {message}", markup=False, highlight=False)
    raise typer.Exit(1)


def open_existing(db_path: Path):
    if not db_path.exists():
        fail(f"{db_path}: no database here; run `verify build` first")
    try:
        return store.open_db(db_path)
    except store.StoreError as error:
        fail(str(error))


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_table(rows: list[dict], columns: list[tuple[str, str]], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False, expand=False)
    for _, header in columns:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(key) is None else str(row[key]) for key, _ in columns))
    out.print(table)


def _progress_wanted() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


class StageLines:
    """Build progress without a terminal (CI, a pipe, a log): one line a stage when it ends, with
    its count and seconds ("read: 6 articles in 0.2s"). The pipeline ticks when a stage is done
    (the embedding also every few hundred texts), so a stage's seconds run from the end of the
    one before it; and while the build is inside a stage, a line every EVERY seconds from a
    timer ("still building: 20.0s since segment ended"), so a build is never silent for long."""

    UNITS = {"read": "articles", "segment": "claims", "embed": "texts encoded", "cluster": "clusters",
             "conflicts": "conflicts", "report": "page"}
    EVERY = 10.0

    def __init__(self) -> None:
        self.since = self.last_line = time.perf_counter()
        self.finished: str | None = None  # the last stage that ended
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def say(self, line: str, now: float) -> None:
        err.print(line, markup=False, highlight=False)
        self.last_line = now

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self.lock:
            now = time.perf_counter()
            unit = self.UNITS.get(stage, "done")
            if done >= total:
                self.say(f"{stage}: {done} {unit} in {now - self.since:.1f}s", now)
                self.since, self.finished = now, stage
            elif now - self.last_line >= self.EVERY:
                self.say(f"{stage}: {done}/{total} {unit}, {now - self.since:.1f}s so far", now)

    def heartbeat(self) -> None:
        while not self.stop.wait(self.EVERY / 4):
            with self.lock:
                now = time.perf_counter()
                if now - self.last_line >= self.EVERY:
                    where = (f"{now - self.since:.1f}s since {self.finished} ended" if self.finished
                             else f"reading, {now - self.since:.1f}s so far")
                    self.say(f"still building: {where}", now)

    def __enter__(self) -> "StageLines":
        self.timer = threading.Thread(target=self.heartbeat, name="verify-build-heartbeat", daemon=True)
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.timer.join()


@app.command()
def build(
    paths: Optional[list[Path]] = typer.Argument(None, help="Files or folders of articles (default: seeds/)."),
    db: Path = DbOption,
    out_dir: Path = typer.Option(Path("reports"), "--out", help="Folder for the HTML report."),
    model: Optional[str] = typer.Option(None, "--model", help="sentence-transformers model name or path (default: bundled all-MiniLM-L6-v2)."),
    backend: Optional[Backend] = typer.Option(None, "--backend",
                                              help="Embedding backend: torch, onnx (ONNX Runtime, int8 weights) or onnx-fp32 "
                                                   "(ONNX Runtime, float weights); the ONNX files are made once from the "
                                                   "model's own weights and cached. Default: see README, Embedding model."),
    threshold: float = typer.Option(cluster.DEFAULT_THRESHOLD, "--threshold", min=0.0, max=1.0,
                                    help="Similarity (0.7 embedding cosine + 0.3 word TF-IDF cosine) for any two claims to share a cluster."),
    mutual_threshold: float = typer.Option(cluster.DEFAULT_MUTUAL_THRESHOLD, "--mutual-threshold", min=0.0, max=1.0,
                                           help="Lower similarity at which two claims of different articles join "
                                                "when each is the other's best match in the other's article "
                                                "(by the mixed similarity, or by the embedding alone: a paraphrase in other words)."),
    nli_model: Optional[str] = NliOption,
    open_report: bool = typer.Option(False, "--open", help="Open the report in a web browser when one is available."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="A Dask scheduler (tcp://host:8786): the embedding and the "
                                                 "neighbour search run on its workers, which need verify installed; "
                                                 "the rest, and the database, stay here. Default: all in this process."),
):
    """Read articles, extract claims, cluster them, store everything and write the report."""
    paths = paths or [Path("seeds")]
    progress_bar = None
    tasks: dict[str, int] = {}

    stage_lines = None if _progress_wanted() else StageLines()

    def on_progress(stage: str, done: int, total: int) -> None:
        if stage_lines is not None:
            return stage_lines(stage, done, total)
        if progress_bar is None:
            return
        if stage not in tasks:
            tasks[stage] = progress_bar.add_task(stage, total=max(total, 1))
        progress_bar.update(tasks[stage], completed=done, total=max(total, 1))

    try:
        if _progress_wanted():
            from rich.progress import Progress

            with Progress(console=err, transient=True) as progress_bar:
                progress_bar.add_task("building", total=None)  # pulses while a stage runs
                result = pipeline.build(paths, db, out_dir, model, threshold, on_progress, nli_model,
                                        mutual_threshold=mutual_threshold, backend=backend and backend.value,
                                        scheduler=scheduler)
        else:
            with stage_lines:
                result = pipeline.build(paths, db, out_dir, model, threshold, on_progress, nli_model,
                                        mutual_threshold=mutual_threshold, backend=backend and backend.value,
                                        scheduler=scheduler)
    except pipeline.NothingToBuild as nothing:
        for problem in nothing.problems:
            err.print(f"verify: {problem}", markup=False, highlight=False)
        fail("no usable articles found; nothing was built and the database is unchanged")
    except (RuntimeError, store.StoreError) as error:  # a model that cannot be loaded, a bad --db
        fail(f"{error}; the database is unchanged")
    for problem in result.problems:
        err.print(f"verify: skipped {problem}", markup=False, highlight=False)
    out.print(result.summary(), markup=False, highlight=False)
    out.print(f"database: {result.db_path}   report: {result.report_path}", markup=False, highlight=False)
    if open_report and result.report_path:
        out.print(open_in_browser(result.report_path), markup=False, highlight=False)


@app.command()
def add(
    paths: list[Path] = typer.Argument(..., help="Files or folders of articles to add to the corpus."),
    db: Path = DbOption,
    out_dir: Path = typer.Option(Path("reports"), "--out", help="Folder for the HTML report."),
    open_report: bool = typer.Option(False, "--open", help="Open the report in a web browser when one is available."),
):
    """Add articles to the corpus the database holds: `verify build` of its last build's paths and
    these, with that build's options (model, backend, thresholds, NLI model). Only what is new is
    segmented, embedded, clustered and compared."""
    if not Path(db).exists():
        fail(f"{db}: no database; build one first (verify build PATHS --db {db})")
    try:
        last = pipeline.last_inputs(db)
    except store.StoreError as error:
        fail(str(error))
    if last is None:
        fail(f"{db}: holds no build yet; build one first (verify build PATHS --db {db})")
    before, options = last
    known = {str(p) for p in before}
    every = [Path(p) for p in before] + [p for p in paths if str(p) not in known]
    given = {"paths": every, "db": db, "out_dir": out_dir, "open_report": open_report,
             "model": options.get("model"), "nli_model": options.get("nli_model"),
             "backend": Backend(options["backend"]) if options.get("backend") else None}
    for name in ("threshold", "mutual_threshold"):
        if options.get(name) is not None:
            given[name] = options[name]
    _call_command(build, given)


def _call_command(command, given: dict):
    """Call a typer command function with `given` and, for the rest, its options' defaults."""
    import inspect

    arguments = {}
    for name, parameter in inspect.signature(command).parameters.items():
        if name in given:
            arguments[name] = given[name]
        else:
            default = parameter.default
            arguments[name] = getattr(default, "default", default)
    return command(**arguments)


def open_in_browser(path: Path) -> str:
    """Open a file in the user's browser if there is one; say what happened either way."""
    import webbrowser

    uri = path.resolve().as_uri()
    try:
        webbrowser.get()
    except webbrowser.Error:
        return f"no web browser found; open {uri} yourself"
    return f"opened {uri}" if webbrowser.open(uri) else f"the browser did not start; open {uri} yourself"


@app.command()
def sources(db: Path = DbOption, as_json: bool = JsonOption):
    """The articles: outlet, origin (who wrote it), date, byline."""
    rows = store.articles(open_existing(db))
    if as_json:
        return print_json(rows)
    print_table(rows, [("id", "id"), ("outlet", "outlet"), ("origin", "origin"), ("copy_of", "copy of"), ("published", "published"),
                       ("byline", "byline"), ("n_claims", "claims"), ("title", "title")])


@app.command()
def claims(
    db: Path = DbOption,
    article: Optional[str] = typer.Option(None, "--article", help="Article id (or prefix)."),
    status: Optional[Status] = typer.Option(None, "--status", help="Status of the claim's cluster."),
    as_json: bool = JsonOption,
):
    """Claims with their speaker and cluster."""
    rows = store.claims(open_existing(db), article, status.value if status else None)
    if as_json:
        return print_json(rows)
    print_table(rows, [("id", "id"), ("outlet", "outlet"), ("speaker", "speaker"), ("status", "status"),
                       ("cluster_id", "cluster"), ("text", "text")])


@app.command()
def clusters(
    db: Path = DbOption,
    status: Optional[Status] = typer.Option(None, "--status"),
    as_json: bool = JsonOption,
):
    """Clusters of claims with their status and sources."""
    rows = store.clusters(open_existing(db), status.value if status else None)
    if as_json:
        return print_json(rows)
    for row in rows:
        row["sources_text"] = ", ".join(row["sources"])
    print_table(rows, [("id", "id"), ("status", "status"), ("size", "claims"), ("n_articles", "articles"),
                       ("sources_text", "sources"), ("label", "first claim")])


@app.command()
def show(cluster_or_claim: str = typer.Argument(..., metavar="ID"), db: Path = DbOption, as_json: bool = JsonOption):
    """One cluster or claim (id or unique prefix), members with outlet, origin, speaker, text."""
    database = open_existing(db)
    try:
        found = store.resolve_id(database, cluster_or_claim)
    except ValueError as ambiguous:
        fail(str(ambiguous))
    if found is None:
        fail(f"no cluster or claim with id '{cluster_or_claim}'")
    kind, full_id = found
    if kind == "claim":
        row = store.claim(database, full_id)
        row["cluster"] = store.cluster(database, row["cluster_id"])
    else:
        row = store.cluster(database, full_id)
    if as_json:
        return print_json({"type": kind, **row})
    k = row["cluster"] if kind == "claim" else row
    if kind == "claim":
        out.print(f"claim {row['id']} in {row['title'] or row['path']} [{row['start']}:{row['end']}]", markup=False)
        out.print(row["text"], markup=False, highlight=False)
        out.print(f"speaker: {row['speaker'] or '-'} ({row['verb'] or '-'})\n", markup=False)
    out.print(f"cluster {k['id']}: {k['status']}, {k['size']} claims from {', '.join(k['sources'])}", markup=False)
    print_table(k["claims"], [("id", "claim"), ("outlet", "outlet"), ("origin", "origin"),
                              ("speaker", "speaker"), ("text", "text")])
    for x in k.get("conflicts", []):
        other = x["claims"][1] if x["claim_a"] in k["claim_ids"] else x["claims"][0]
        out.print(f"conflicts ({x['kind']}, {x['review']}, {x['id']}) with: [{other['outlet'] or 'unknown outlet'}"
                  f"{' / ' + other['speaker'] if other['speaker'] else ''}] {other['text']}", markup=False, highlight=False)
    out.print("\ntimeline:", markup=False)
    for e in k["timeline"]:
        when = (e["when"] or "date unknown")[:10]
        dated_by = f"  ({e['dated_by']})" if e["dated_by"] else ""
        if e["type"] == "carried":
            out.print(f"  {when}  {e['origin']} first carries it{dated_by}", markup=False, highlight=False)
        else:
            out.print(f"  {when}  {e['origin']}: {e['kind']} ({e['review']}, {e['conflict_id']}): {e['other']['text']}{dated_by}",
                      markup=False, highlight=False)


@app.command()
def search(text: str, db: Path = DbOption, as_json: bool = JsonOption,
           limit: int = typer.Option(50, "--limit", min=1)):
    """Full-text search over claims."""
    rows = store.search(open_existing(db), text, limit)
    if as_json:
        return print_json(rows)
    print_table(rows, [("id", "id"), ("outlet", "outlet"), ("speaker", "speaker"), ("status", "status"), ("text", "text")])


def _conflict_json(row: dict) -> dict:
    a, b = row["claims"]
    side = lambda c: {k: (c or {}).get(k) for k in ("id", "text", "outlet", "origin", "speaker", "cluster_id")}
    return {"id": row["id"], "claim_ids": row["claim_ids"], "kind": row["kind"], "score": row["score"],
            "review": row["review"], "note": row["note"], "explanation": row["explanation"], "cues": row["cues"],
            "attribution": row["attribution"], "a": side(a), "b": side(b)}


def _print_conflict(row: dict) -> None:
    who = "disputed between parties" if row["attribution"] == "parties" else "outlets disagree"
    out.print(f"{row['id']}  {row['kind']}  score {row['score']:.2f}  {row['review']}  ({who})", markup=False, highlight=False)
    for label, c, cues in (("A", row["claims"][0], row["cues"].get("a")), ("B", row["claims"][1], row["cues"].get("b"))):
        c = c or {}
        out.print(f"  {label} [{c.get('outlet') or 'unknown outlet'} / origin {c.get('origin') or 'unknown'}"
                  f"{' / ' + c['speaker'] if c.get('speaker') else ''}] {c.get('text')}", markup=False, highlight=False)
        if cues:
            out.print(f"    cues: {', '.join(cues)}", markup=False, highlight=False)
    out.print(f"  why: {row['explanation']}" + (f"\n  note: {row['note']}" if row.get("note") else "") + "\n",
              markup=False, highlight=False)


@app.command("conflicts")
def conflicts_command(
    db: Path = DbOption,
    review_state: Optional[Review] = typer.Option(None, "--review", help="Only conflicts in this review state."),
    kind: Optional[Kind] = typer.Option(None, "--kind"),
    as_json: bool = JsonOption,
):
    """Flagged contradictions: both claims, kind, score, cue words, review state."""
    rows = store.conflicts(open_existing(db), review_state.value if review_state else None, kind.value if kind else None)
    if as_json:
        return print_json([_conflict_json(r) for r in rows])
    if not rows:
        out.print("no conflicts", markup=False)
    for row in rows:
        _print_conflict(row)


@app.command()
def review(
    conflict_id: str = typer.Argument(..., metavar="ID"),
    confirm: bool = typer.Option(False, "--confirm", help="The two claims do contradict each other."),
    dismiss: bool = typer.Option(False, "--dismiss", help="Not a contradiction; never flag this pair again."),
    note: Optional[str] = typer.Option(None, "--note"),
    db: Path = DbOption,
):
    """Confirm or dismiss a flagged conflict; the decision survives rebuilds."""
    if confirm == dismiss:
        fail("say either --confirm or --dismiss")
    database = open_existing(db)
    try:
        row = store.review(database, conflict_id, "confirmed" if confirm else "dismissed", note)
    except LookupError as error:
        fail(str(error.args[0]))
    database.conn.close()
    report_path = db.parent / "index.html"
    if report_path.exists():  # keep the report that sits beside the database in step
        report.write_report(db, report_path)
    _print_conflict(row)


@app.command()
def compare(
    a: Optional[str] = typer.Argument(None, help="First statement."),
    b: Optional[str] = typer.Argument(None, help="Second statement."),
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="JSONL file of {\"id\", \"a\", \"b\"}; one JSON result a line."),
    model: Optional[str] = typer.Option(None, "--model"),
    nli_model: Optional[str] = NliOption,
    as_json: bool = JsonOption,
):
    """How statement B stands to A: corroborates, conflicts, related or unrelated, and why."""
    judge = load_judge(nli_model)
    if pairs is not None:
        rows = []
        try:
            lines = pairs.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            fail(f"{pairs}: cannot read ({error})")
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("a"), str) or not isinstance(row.get("b"), str):
                    raise ValueError("needs string fields 'a' and 'b'")
            except ValueError as error:
                fail(f"{pairs}: line {n}: {error}")
            rows.append(row)
        for result in checking.compare_many(rows, model, judge):
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    if a is None or b is None:
        fail("give two statements, or --pairs FILE.jsonl")
    result = checking.compare(a, b, model, judge)
    if as_json:
        return print_json(result)
    out.print(f"{result['relation']}" + (f" ({result['kind']})" if result["kind"] else "") +
              f", score {result['score']:.2f}: {result['explanation']}", markup=False, highlight=False)


@app.command()
def check(
    statement: str,
    db: Path = DbOption,
    nli_model: Optional[str] = NliOption,
    limit: int = typer.Option(50, "--limit", min=1, help="How many nearest claims to compare."),
    as_json: bool = JsonOption,
):
    """Claims of the built corpus that corroborate or conflict with a statement, with their outlets."""
    result = checking.check(open_existing(db), statement, judge=load_judge(nli_model), limit=limit)
    if as_json:
        return print_json(result)
    for relation in ("conflicts", "corroborates"):
        out.print(f"{relation}: {len(result[relation])}", markup=False)
        for r in result[relation]:
            out.print(f"  {r['id']} [{r['outlet'] or 'unknown outlet'} / origin {r['origin'] or 'unknown'}"
                      f"{' / ' + r['speaker'] if r['speaker'] else ''}] {r['text']}", markup=False, highlight=False)
            out.print(f"    {r['kind'] or ''} {r['score']:.2f}: {r['explanation']}", markup=False, highlight=False)
    out.print(f"related but neither: {result['related']}", markup=False)
    if result.get("articles"):
        out.print("articles as a whole:", markup=False)
        for a in result["articles"]:
            out.print(f"  {a['relation']:<12} {a['outlet'] or 'unknown outlet'} / origin {a['origin'] or 'unknown'}: "
                      f"{a['title'] or a['article_id']} ({a['explanation']})", markup=False, highlight=False)


@app.command()
def export(
    db: Path = DbOption,
    fmt: ExportFormat = typer.Option(ExportFormat.json, "--format",
                                     help="json: the whole corpus; csv: one row a claim; claimreview: schema.org ClaimReview JSON-LD, one a cluster."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="File to write (default: standard output)."),
    base_url: Optional[str] = typer.Option(None, "--base-url",
                                           help="claimreview: URL of the published report (default: the index.html beside the database)."),
):
    """Export articles, claims, clusters and conflicts."""
    database = open_existing(db)
    if fmt is ExportFormat.json:
        text = json.dumps(store.export(database), ensure_ascii=False, indent=2) + "\n"
    elif fmt is ExportFormat.claimreview:
        from verify.claimreview import claim_reviews

        reviews = claim_reviews(database, base_url=base_url, db_path=db)
        text = json.dumps(reviews, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    else:
        buffer = io.StringIO()
        fields = ["id", "article_id", "text", "speaker", "verb", "cluster_id", "status", "start", "end",
                  "outlet", "origin", "published", "title", "path"]
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(store.claims(database))
        text = buffer.getvalue()
    if output:
        report.write_atomic(output, text)
        err.print(f"wrote {output}", markup=False)
    else:
        sys.stdout.write(text)


@app.command("report")
def report_command(db: Path = DbOption, out_dir: Path = typer.Option(Path("reports"), "--out")):
    """Write the HTML report again from the database."""
    open_existing(db).conn.close()
    path = report.write_report(db, out_dir / "index.html")
    out.print(f"report: {path}", markup=False)


@app.command()
def stats(db: Path = DbOption, as_json: bool = JsonOption):
    """The tool's own error rate, from the reviews: flagged conflicts confirmed, dismissed and
    pending, by kind and by score band, and the flag threshold those reviews suggest."""
    result = review_stats.error_rate(open_existing(db))
    if as_json:
        return print_json(result)
    counts = [("confirmed", "confirmed"), ("dismissed", "dismissed"), ("pending", "pending"),
              ("share_text", "confirmed of reviewed")]
    print_table(result["by_kind"] + [result["total"]], [("label", "kind"), *counts], title="flagged conflicts by kind")
    print_table(result["by_band"], [("label", "score band"), *counts], title="flagged conflicts by score band")
    out.print(f"suggested flag threshold: {result['suggestion']['text']}", markup=False, highlight=False)


@app.command()
def serve(
    db: Path = DbOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (anything but loopback is warned about)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    open_page: bool = typer.Option(False, "--open", help="Open the page in a web browser when one is available."),
):
    """The report, live from the database, on a local web server: review conflicts in the browser."""
    from verify import serve as serving

    open_existing(db).conn.close()
    warning = serving.exposure_warning(host)
    if warning:
        err.print(f"verify: {warning}", markup=False, highlight=False)
    url = serving.url_of(host, port)

    def ready() -> None:
        out.print(f"serving {db} at {url}  (Ctrl+C stops)", markup=False, highlight=False)
        if open_page:
            out.print(open_url(url), markup=False, highlight=False)

    try:
        serving.run(db, host, port, on_ready=ready)
    except (store.StoreError, OSError) as error:
        fail(str(error))


def open_url(url: str) -> str:
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return f"no web browser found; open {url} yourself"
    return f"opened {url}" if webbrowser.open(url) else f"the browser did not start; open {url} yourself"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
