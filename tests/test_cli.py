"""The command line: fast help, JSON on stdout, meaningful exit codes, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tuneahead.commands.demo import bundled_examples_dir
from tuneahead.errors import ExitCode


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tuneahead.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_help_is_instant_and_imports_no_heavy_library() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import tuneahead.cli; "
        "heavy = [m for m in ('torch', 'transformers', 'lightgbm', 'shap', 'ray', 'pandas') if m in sys.modules]; "
        "print(heavy, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ")
    assert out[0] == "[]", out
    result = cli("--help")
    assert result.returncode == 0 and "describe" in result.stdout


def test_describe_json_on_bundled_example() -> None:
    folder = bundled_examples_dir()
    result = cli("describe", "--data", str(folder / "example_train.jsonl"), "--eval",
                 str(folder / "example_eval.jsonl"), "--json")
    assert result.returncode == ExitCode.OK, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert payload["descriptors"]["n_examples"]["value"] == 1212
    assert payload["eval_data"]["examples"] == 150
    assert any(f["code"] == "eval_leakage" for f in payload["findings"])
    assert payload["tokenizer"]["is_default"] is True


def test_fail_on_error_exit_code() -> None:
    folder = bundled_examples_dir()
    result = cli("describe", "--data", str(folder / "example_train.jsonl"), "--eval",
                 str(folder / "example_eval.jsonl"), "--fail-on-error")
    assert result.returncode == 6


def test_bad_row_names_file_and_line(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
                   '{"messages": [oops\n', encoding="utf-8")
    result = cli("describe", "--data", str(bad))
    assert result.returncode == ExitCode.INPUT
    assert "bad.jsonl:2" in result.stderr
    as_json = cli("describe", "--data", str(bad), "--json")
    payload = json.loads(as_json.stdout)
    assert payload["ok"] is False and payload["line"] == 2 and payload["file"].endswith("bad.jsonl")
    skipped = json.loads(cli("describe", "--data", str(bad), "--skip-invalid", "--json").stdout)
    assert skipped["data"]["invalid"] == 1 and skipped["data"]["examples"] == 1
    assert "bad.jsonl:2" in skipped["data"]["invalid_samples"][0]["location"]
    ok_rows = "".join(f'{{"text": "row {i}"}}\n' for i in range(5))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(ok_rows + "not json\n", encoding="utf-8")
    payload = json.loads(cli("describe", "--data", str(mixed), "--skip-invalid", "--json").stdout)
    assert payload["data"]["invalid"] == 1 and payload["data"]["examples"] == 5


@pytest.mark.parametrize("args", [("describe", "--data", "does/not/exist.jsonl"), ("describe",)])
def test_missing_input_is_an_input_error(args) -> None:
    result = cli(*args)
    assert result.returncode == ExitCode.INPUT, (result.stdout, result.stderr)


def test_unknown_option_is_a_usage_error() -> None:
    assert cli("describe", "--no-such-flag").returncode == ExitCode.USAGE


def test_demo_runs_a_full_check_on_the_bundled_example(tmp_path) -> None:
    report = tmp_path / "demo.html"
    result = cli("demo", "--json", "--html", str(report))
    assert result.returncode == ExitCode.OK, result.stderr
    payload = json.loads(result.stdout)
    assert payload["decision"] in {"GO", "NO-GO", "UNCERTAIN"}
    assert payload["recipe"]["base_model"] == "tiny-1m"
    assert payload["predictor"]["source"].startswith("bundled")
    assert {"eval_leakage", "truncation"} <= {f["code"] for f in payload["findings"]}
    assert payload["html"] == str(report) and report.is_file()


def test_check_exit_code_is_the_verdict_and_errors_are_not(tmp_path) -> None:
    recipe = bundled_examples_dir() / "demo_recipe_tiny.yaml"
    result = cli("check", str(recipe), "--target", "exact_match>=0.8", "--json", "--threads", "2")
    payload = json.loads(result.stdout)
    assert result.returncode == {"GO": 0, "NO-GO": 1, "UNCERTAIN": 2}[payload["decision"]], result.stderr
    bad = cli("check", str(recipe), "--target", "exact_match<=0.8", "--json")
    assert bad.returncode == ExitCode.INPUT and json.loads(bad.stdout)["field"] == "target"
    missing = cli("check", str(tmp_path / "nope.yaml"), "--target", "0.8")
    assert missing.returncode >= 3
