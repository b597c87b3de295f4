"""Bad input at the command line: a clear error naming what to fix, the right exit code, nothing lost.

Each test guards a defect found by an audit of bad inputs (markup in user text, a run store that is not
one, outcomes out of range, interrupted checks, bad values reaching internal errors, run tables that
were silently accepted). Commands run in-process (`run_app`) to keep the suite fast.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from tuneahead.commands.demo import bundled_examples_dir
from tuneahead.errors import ExitCode


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `tuneahead ARGS`, run in this process."""
    from tuneahead.cli import app
    from tuneahead.commands._common import run_app

    saved = sys.argv
    sys.argv = ["tuneahead", *args]
    try:
        code = run_app(app)
    finally:
        sys.argv = saved
    out = capsys.readouterr()
    return code, out.out, out.err


def chat_rows(n: int, role: str = "assistant") -> str:
    rows = [{"messages": [{"role": "user", "content": f"q {i}"}, {"role": role, "content": f"a {i}"}]}
            for i in range(n)]
    return "\n".join(json.dumps(r) for r in rows) + "\n"


# ---------------------------------------------------------------- user text is never markup


def test_markup_in_a_missing_file_name_is_printed_as_written(capsys, tmp_path: Path) -> None:
    name = str(tmp_path / "x[/b]gone.jsonl")
    code, _, err = run(capsys, "describe", "--data", name)
    assert code == ExitCode.INPUT
    assert "x[/b]gone.jsonl" in err


def test_markup_in_a_row_value_is_printed_as_written(capsys, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(chat_rows(3, role="[/red]"), encoding="utf-8")
    code, _, err = run(capsys, "describe", "--data", str(data))
    assert code == ExitCode.INPUT
    assert "[/red]" in err and "train.jsonl:1" in err


def test_markup_in_a_model_name_is_printed_as_written(capsys) -> None:
    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    code, _, err = run(capsys, "probe", "--recipe", str(recipe), "--model", "tiny[/x]", "--steps", "1")
    assert code == ExitCode.MODEL
    assert "tiny[/x]" in err


# ---------------------------------------------------------------- run stores and outcomes


@pytest.fixture()
def store_with_run(tmp_path: Path) -> Path:
    from tuneahead.store.sqlite import RunRecord, RunStore

    path = tmp_path / "history.db"
    with RunStore(path) as store:
        store.add_run(RunRecord(run_id="chk-1", recipe={}, target=0.5, extra={"decision": "GO"}))
    return path


def test_check_refuses_a_store_that_is_not_one_before_probing(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("these are my notes, not a database\n", encoding="utf-8")
    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    code, out, err = run(capsys, "check", str(recipe), "--target", "0.8", "--record", str(bad), "--json")
    assert code == ExitCode.INPUT
    doc = json.loads(out)
    assert doc["ok"] is False and doc["file"] == str(bad) and "run store" in doc["message"]
    assert "decision" not in doc  # it stopped before the probe
    assert bad.read_text(encoding="utf-8") == "these are my notes, not a database\n"  # untouched


def test_someone_elses_sqlite_database_is_not_taken_over(tmp_path: Path) -> None:
    from tuneahead.errors import InputError
    from tuneahead.store.sqlite import RunStore

    other = tmp_path / "app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(InputError, match="not a TuneAhead run store"):
        RunStore(other)
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["users"]


def test_a_computed_verdict_is_printed_even_when_recording_fails(capsys, monkeypatch, tmp_path: Path) -> None:
    from tuneahead.errors import InputError
    from tuneahead.gate import history

    def broken_store(*args, **kwargs):
        raise InputError("disk full", hint="free some space")

    monkeypatch.setattr(history, "record_check", broken_store)
    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    code, out, err = run(capsys, "check", str(recipe), "--target", "0.8", "--threads", "1",
                         "--record", str(tmp_path / "runs.db"), "--json")
    assert code == ExitCode.INPUT
    doc = json.loads(out)
    assert doc["decision"] in {"GO", "NO-GO", "UNCERTAIN"}  # the verdict is there
    assert "not recorded" in err and "disk full" in err


@pytest.mark.parametrize("value", ["1.5", "-0.1", "83", "nan", "inf", "-inf"])
def test_outcome_must_be_a_score_in_0_1(capsys, store_with_run: Path, value: str) -> None:
    from tuneahead.store.sqlite import RunStore

    code, _, err = run(capsys, "outcome", str(store_with_run), "chk-1", "--", value)
    assert code == ExitCode.INPUT, err
    assert "between 0 and 1" in err or "must be a number" in err
    if value == "83":
        assert "0.83" in err  # a percentage, says how to write it
    with RunStore(store_with_run) as store:
        assert store.get_run("chk-1").final_metric is None  # nothing recorded


def test_a_second_outcome_needs_replace(capsys, store_with_run: Path) -> None:
    from tuneahead.store.sqlite import RunStore

    assert run(capsys, "outcome", str(store_with_run), "chk-1", "0.7")[0] == 0
    code, _, err = run(capsys, "outcome", str(store_with_run), "chk-1", "0.2")
    assert code == ExitCode.INPUT and "already has an outcome" in err and "--replace" in err
    with RunStore(store_with_run) as store:
        assert store.get_run("chk-1").final_metric == 0.7
    assert run(capsys, "outcome", str(store_with_run), "chk-1", "0.2", "--replace")[0] == 0
    with RunStore(store_with_run) as store:
        assert store.get_run("chk-1").final_metric == 0.2


def test_outcome_on_a_file_that_is_not_a_store(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("hello", encoding="utf-8")
    code, _, err = run(capsys, "outcome", str(bad), "chk-1", "0.5")
    assert code == ExitCode.INPUT and "notes.db" in err


# ---------------------------------------------------------------- interrupted checks


def test_an_interrupted_check_gives_no_verdict(tmp_path: Path) -> None:
    """Ctrl-C during the probe: no verdict from the partial probe (the CLI maps this to exit 130)."""
    from tuneahead.gate import check

    def interrupt_at_step_3(kind: str, payload) -> None:
        if kind == "probe" and payload.kind == "step" and payload.record.step == 3:
            raise KeyboardInterrupt

    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    with pytest.raises(KeyboardInterrupt, match="interrupted after 3 steps"):
        check(recipe, target=0.8, threads=1, progress=interrupt_at_step_3)


def test_the_cli_reports_an_interrupt_with_exit_130(capsys, monkeypatch) -> None:
    import tuneahead.gate

    def interrupted(**kwargs):
        raise KeyboardInterrupt("the probe was interrupted after 3 steps: no verdict")

    monkeypatch.setattr(tuneahead.gate, "check", interrupted)
    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    code, out, err = run(capsys, "check", str(recipe), "--target", "0.8")
    assert code == ExitCode.INTERRUPTED == 130
    assert "interrupted" in err and "no verdict" in err and out == ""


# ---------------------------------------------------------------- values that used to reach internal errors


def test_an_unknown_accelerator_is_an_input_error(capsys) -> None:
    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    code, _, err = run(capsys, "probe", "--recipe", str(recipe), "--accelerator", "H10", "--steps", "1")
    assert code == ExitCode.INPUT
    assert "H10" in err and "H100" in err and "internal error" not in err


def write_runs(path: Path, rows: list[dict]) -> Path:
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def runs_rows(n: int = 40) -> list[dict]:
    return [{"run_id": f"r{i}", "family": f"f{i % 4}", "probe_eval_loss_end": 3.0 - i * 0.05,
             "n_examples": 100 + i, "final_metric": (i % 10) / 10, "target": 0.5} for i in range(n)]


@pytest.mark.parametrize("command", ["fit", "evaluate"])
def test_a_string_in_the_target_column_names_file_and_line(capsys, tmp_path: Path, command: str) -> None:
    rows = runs_rows()
    rows[10]["final_metric"] = "pending"  # file line 12: the header is line 1, rows[0] line 2
    table = write_runs(tmp_path / "runs.csv", rows)
    args = ["--runs", str(table), "--threshold", "target"]
    args += ["--out", str(tmp_path / "p")] if command == "fit" else ["--seeds", "1", "--folds", "2"]
    code, _, err = run(capsys, command, *args)
    assert code == ExitCode.INPUT, err
    assert "runs.csv:12" in err and "final_metric" in err and "pending" in err


def test_duplicated_run_ids_are_refused(capsys, tmp_path: Path) -> None:
    rows = runs_rows()
    rows[7]["run_id"] = "r3"
    table = write_runs(tmp_path / "runs.csv", rows)
    code, _, err = run(capsys, "fit", "--runs", str(table), "--out", str(tmp_path / "p"))
    assert code == ExitCode.INPUT and "'r3' appears twice" in err and "runs.csv:9" in err


def test_duplicated_rows_are_refused(capsys, tmp_path: Path) -> None:
    rows = runs_rows()
    rows = [{k: v for k, v in r.items() if k != "run_id"} for r in rows]
    rows[20] = dict(rows[5])
    table = write_runs(tmp_path / "runs.csv", rows)
    code, _, err = run(capsys, "fit", "--runs", str(table), "--out", str(tmp_path / "p"))
    assert code == ExitCode.INPUT and "repeats another one" in err and "runs.csv:22" in err


def test_a_constant_target_is_refused(capsys, tmp_path: Path) -> None:
    rows = runs_rows()
    for r in rows:
        r["final_metric"] = 0.4
    table = write_runs(tmp_path / "runs.csv", rows)
    code, _, err = run(capsys, "fit", "--runs", str(table), "--out", str(tmp_path / "p"))
    assert code == ExitCode.INPUT and "in every run" in err


def test_a_ragged_csv_row_is_refused(capsys, tmp_path: Path) -> None:
    table = write_runs(tmp_path / "runs.csv", runs_rows())
    lines = table.read_text().splitlines()
    lines[5] = ",".join(lines[5].split(",")[:-2])  # two fields short
    table.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "fit", "--runs", str(table), "--out", str(tmp_path / "p"))
    assert code == ExitCode.INPUT and "runs.csv:6" in err and "fields" in err
