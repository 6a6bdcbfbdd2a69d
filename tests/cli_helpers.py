"""Running `verify` through typer's CliRunner: shared by the CLI test modules."""

from __future__ import annotations

import json

from verify.cli import app


def run(runner, *args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def ok(runner, *args):
    result = run(runner, *args)
    assert result.exit_code == 0, result.output
    return result


def ok_json(runner, *args):
    return json.loads(ok(runner, *args, "--json").stdout)
