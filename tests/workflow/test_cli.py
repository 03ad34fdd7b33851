"""`ndjson-parquet workflow …` as the operator command mounts it, and `python -m`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ndjson_parquet.workflow import StateName, render, required_iam_actions
from ndjson_parquet.workflow.cli import add_arguments, main, run


def _mounted(argv: list[str]) -> int:
    """Mount the module under `workflow` on a parent parser, as the operator command does."""
    parser = argparse.ArgumentParser(prog="ndjson-parquet")
    commands = parser.add_subparsers(dest="command", required=True)
    add_arguments(commands.add_parser("workflow"))
    args = parser.parse_args(argv)
    assert args.command == "workflow"
    return run(args)


def test_render_terraform_prints_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert _mounted(["workflow", "render", "--terraform"]) == 0
    assert capsys.readouterr().out == render()


def test_render_with_names_fills_them_in(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["render", "--table", "tbl", "--glue-job", "job", "--topic-arn", "arn:aws:sns:x:1:t"]
    assert main(argv) == 0
    states = json.loads(capsys.readouterr().out)["States"]
    assert states[StateName.UPDATE_STATUS_PROCESSING]["Parameters"]["TableName"] == "tbl"
    assert states[StateName.START_GLUE_JOB]["Parameters"]["JobName"] == "job"
    assert states[StateName.SEND_ALERT]["Parameters"]["TopicArn"] == "arn:aws:sns:x:1:t"


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["render", "--table", "tbl"], "--glue-job and --topic-arn"),
        (["render", "--table", "tbl", "--glue-job", "job"], "--topic-arn"),
        (["render", "--terraform", "--glue-job", "job"], "--terraform takes no"),
    ],
)
def test_incomplete_names_are_refused(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert complaint in captured.err
    assert captured.out == ""


def test_render_needs_a_target() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["render"])
    assert exit_.value.code == 2


def test_render_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "definition.asl.json.tftpl"
    assert main(["render", "--terraform", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()


def test_iam_actions_lists_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-actions"]) == 0
    assert capsys.readouterr().out.splitlines() == required_iam_actions()


def test_python_dash_m_renders_the_template() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ndjson_parquet.workflow", "render", "--terraform"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == render()
