"""`inspect` for a person: one line per error by default, everything with --verbose."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rich.console import Console

from ndjson_parquet.cli.operator.causes import summarize
from ndjson_parquet.cli.operator.inspect import _print_manifest

MESSAGE = "ConversionError: line 7 of s3://in/a.ndjson is not UTF-8"
GLUE_CAUSE = json.dumps(
    {"Id": "jr_9", "JobRunState": "FAILED", "ErrorMessage": MESSAGE, "GlueVersion": "0.9"}
)


@pytest.mark.parametrize(
    ("error", "cause", "expected"),
    [
        ("States.TaskFailed", GLUE_CAUSE, f"States.TaskFailed: {MESSAGE}"),
        # The workflow's Fail state: `States.Format('{}: {}', Error, Cause)`.
        ("ConversionFailed", f"States.TaskFailed: {GLUE_CAUSE}", f"ConversionFailed: {MESSAGE}"),
        ("States.Timeout", "", "States.Timeout"),
        (
            "States.TaskFailed",
            json.dumps({"Id": "jr_2", "ErrorMessage": "boom", "LogGroupName": "/aws-glue/jobs"}),
            "States.TaskFailed: boom (logs: /aws-glue/jobs, run jr_2)",
        ),
        (None, "plain\n  text", "plain text"),
        (
            "E",
            json.dumps({"Id": "jr_1", "JobRunState": "TIMEOUT"}),
            "E: Glue job run jr_1 ended TIMEOUT",
        ),
    ],
)
def test_summarize_keeps_the_message(error: str | None, cause: str, expected: str) -> None:
    assert summarize(error, cause) == expected


def _story() -> dict[str, Any]:
    failed = {
        "type": "TaskFailed",
        "timestamp": "t",
        "error": "States.TaskFailed",
        "cause": GLUE_CAUSE,
    }

    def entered(name: str) -> dict[str, Any]:
        return {"type": "TaskStateEntered", "timestamp": "t", "name": name}

    return {
        "manifest": {
            "manifest_id": "2024-03-05-m1",
            "status": "failed",
            "error": "States.TaskFailed",
            "cause": GLUE_CAUSE,
            "files": [],
        },
        "executions": [
            {
                "name": "2024-03-05-m1",
                "status": "FAILED",
                "start_date": "t0",
                "stop_date": "t1",
                "error": "ConversionFailed",
                "cause": f"States.TaskFailed: {GLUE_CAUSE}",
                "events": [
                    entered("UpdateStatusProcessing"),
                    entered("StartGlueJob"),
                    failed,
                    failed,
                    failed,
                    entered("UpdateStatusFailed"),
                    entered("SendAlert"),
                    {"type": "FailStateEntered", "timestamp": "t", "name": "ConversionFailed"},
                ],
            }
        ],
    }


def _printed(verbose: bool) -> str:
    console = Console(record=True, width=300, color_system=None)
    _print_manifest(console, _story(), verbose)
    return console.export_text()


def test_inspect_names_each_error_once() -> None:
    text = _printed(verbose=False)

    assert "GlueVersion" not in text
    assert text.count(MESSAGE) == 3  # the manifest's error, the last task failure, the execution's
    assert "3 task failure(s)" in text
    assert (
        "states: UpdateStatusProcessing → StartGlueJob → UpdateStatusFailed → SendAlert → "
        "ConversionFailed" in text
    )
    assert "--verbose" in text


def test_inspect_verbose_shows_every_event_with_its_cause() -> None:
    text = _printed(verbose=True)

    assert text.count('"GlueVersion": "0.9"') == 5  # manifest, execution, three task failures
    assert text.count("TaskFailed States.TaskFailed") == 3


def test_inspect_says_when_glue_converted_after_lambda_ran_out_of_time() -> None:
    story = _story()
    story["manifest"].update(
        status="completed",
        compute="glue",
        lambda_fallback="Sandbox.Timedout",
        lambda_fallback_at="2024-03-06T01:02:03Z",
    )
    console = Console(record=True, width=300, color_system=None)
    _print_manifest(console, story, False)
    text = console.export_text()

    assert "ran out of time or memory (Sandbox.Timedout at 2024-03-06T01:02:03Z)" in text
    assert "converted the manifest in Glue instead" in text
