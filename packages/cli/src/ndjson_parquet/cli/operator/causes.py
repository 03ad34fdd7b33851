"""One readable line for a Step Functions error and its cause.

A failed Glue `.sync` task's cause is the whole GetJobRun answer as JSON (arguments, versions,
timings): the part a person needs is its `ErrorMessage`. The workflow's Fail state prefixes the
caught error (`States.TaskFailed: {…}`). `summarize` keeps the error name, the message and
where the run's logs are, and leaves the full text to `inspect --verbose` and `--json`.
"""

from __future__ import annotations

import json
from typing import Any

MAX_CHARS = 300


def summarize(error: Any, cause: Any) -> str:
    """`Error: message` in one line, however the cause is wrapped."""
    name = str(error or "").strip()
    message = _message(str(cause or "").strip())
    if name and message:
        return _shorten(f"{name}: {message}")
    return _shorten(name or message or "no error recorded")


def _message(cause: str) -> str:
    parsed = _json(cause)
    if parsed is None:
        # `States.Format('{}: {}', Error, Cause)` of the workflow's Fail state.
        _head, sep, rest = cause.partition(": ")
        if sep and _json(rest) is not None:
            return _message(rest)
        return " ".join(cause.split())
    if isinstance(parsed, dict):
        for key in ("ErrorMessage", "errorMessage", "Cause", "cause", "Message", "message"):
            if parsed.get(key):
                return _message(str(parsed[key])) + _glue_logs(parsed)
        state = parsed.get("JobRunState")
        if state:
            return f"Glue job run {parsed.get('Id', '')} ended {state}".replace("  ", " ")
    return " ".join(cause.split())


def _glue_logs(job_run: dict[str, Any]) -> str:
    """Where a Glue run's logs are: its log group, streams named after the run id."""
    group, run_id = job_run.get("LogGroupName"), job_run.get("Id")
    return f" (logs: {group}, run {run_id})" if group and run_id else ""


def _json(text: str) -> Any:
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
