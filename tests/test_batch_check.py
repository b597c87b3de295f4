"""`check --batch`: many candidate recipes checked side by side, ranked, on local processes or Ray."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tuneahead.commands.demo import bundled_examples_dir
from tuneahead.errors import ExitCode
from tuneahead.gate.batch import BatchEntry, batch_exit_code, check_batch, rank
from tuneahead.gate.config import CheckConfig

TARGET = "exact_match>=0.6"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tuneahead.cli", *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


@pytest.fixture(scope="module")
def candidates(tmp_path_factory) -> Path:
    """The demo recipe, the same with a learning rate 30x too low, and one with an invalid batch size."""
    folder = tmp_path_factory.mktemp("candidates")
    for name in ("demo_recipe_tiny.yaml", "example_train.jsonl", "example_eval.jsonl"):
        shutil.copy(bundled_examples_dir() / name, folder / name)
    demo = (folder / "demo_recipe_tiny.yaml").read_text(encoding="utf-8")
    (folder / "low_lr.yaml").write_text(demo.replace("learning_rate: 1.0e-3", "learning_rate: 3.0e-5"), encoding="utf-8")
    (folder / "bad.yaml").write_text(demo.replace("micro_batch_size: 16", "micro_batch_size: 0"), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def local_batch(candidates) -> tuple[subprocess.CompletedProcess, dict]:
    result = cli("check", "--batch", "demo_recipe_tiny.yaml", "low_lr.yaml", "bad.yaml", "--target", TARGET,
                 "--fixed", "--threads", "1", "--workers", "2", "--json", cwd=candidates)
    return result, json.loads(result.stdout)


def test_batch_ranks_by_p_success_and_reports_a_bad_recipe_in_its_row(local_batch) -> None:
    result, payload = local_batch
    entries = payload["entries"]
    assert [e["recipe"] for e in entries][-1] == "bad.yaml"
    checked = [e for e in entries if e["ok"]]
    assert {e["recipe"] for e in checked} == {"demo_recipe_tiny.yaml", "low_lr.yaml"}
    ps = [e["verdict"]["p_success"] for e in checked]
    assert ps == sorted(ps, reverse=True)
    # A learning rate 30x lower never looks more likely to reach the same bar.
    p = {e["recipe"]: e["verdict"]["p_success"] for e in checked}
    assert p["low_lr.yaml"] < p["demo_recipe_tiny.yaml"]
    bad = entries[-1]
    assert bad["exit_code"] == ExitCode.INPUT
    assert bad["error"]["file"].endswith("bad.yaml") and bad["error"]["field"] == "micro_batch_size"
    decisions = {e["verdict"]["decision"] for e in checked}
    assert result.returncode == next(code for d, code in (("GO", 0), ("UNCERTAIN", 2), ("NO-GO", 1)) if d in decisions)


def test_a_batch_entry_is_the_verdict_of_checking_that_recipe_alone(local_batch, candidates) -> None:
    from tuneahead.gate import check

    _, payload = local_batch
    entry = next(e for e in payload["entries"] if e["recipe"] == "low_lr.yaml")
    alone = check(candidates / "low_lr.yaml", target=TARGET, adaptive=False, threads=1)
    assert entry["verdict"]["decision"] == alone.decision.value
    assert entry["verdict"]["p_success"] == pytest.approx(alone.p_success, abs=1e-9)
    assert entry["verdict"]["forecast"]["metric"] == pytest.approx(alone.forecast, abs=1e-9)


@pytest.mark.slow  # Ray's workers run at low priority: on a busy machine their first check waits minutes
def test_ray_backend_gives_the_local_verdicts(local_batch, candidates) -> None:
    import ray

    _, payload = local_batch
    local = {e["recipe"]: e for e in payload["entries"]}
    config = CheckConfig(adaptive=False, threads=1)
    entries = check_batch([candidates / "low_lr.yaml", candidates / "bad.yaml"], target=TARGET, config=config,
                          backend="ray", workers=1)
    assert not ray.is_initialized()  # it started a local Ray, so it stopped it
    assert [Path(e.recipe).name for e in entries] == ["low_lr.yaml", "bad.yaml"]
    assert entries[0].verdict["p_success"] == pytest.approx(local["low_lr.yaml"]["verdict"]["p_success"], abs=1e-9)
    assert entries[1].error["field"] == "micro_batch_size"


def test_batch_exit_code_is_the_best_verdict() -> None:
    def entry(decision: str | None, p: float = 0.5, code: int = 0) -> BatchEntry:
        verdict = None if decision is None else {"decision": decision, "p_success": p}
        return BatchEntry("r", verdict=verdict, error=None if decision else {"message": "x"}, exit_code=code)

    assert batch_exit_code([entry("NO-GO"), entry("GO"), entry(None, code=4)]) == 0
    assert batch_exit_code([entry("NO-GO"), entry("UNCERTAIN")]) == 2
    assert batch_exit_code([entry("NO-GO"), entry(None, code=4)]) == 1
    assert batch_exit_code([entry(None, code=5), entry(None, code=4)]) == 5
    ranked = rank([entry(None, code=4), entry("NO-GO", 0.2), entry("GO", 0.9)])
    assert [e.decision for e in ranked] == ["GO", "NO-GO", None]


def test_batch_options_without_batch_are_usage_errors(candidates) -> None:
    two = cli("check", "demo_recipe_tiny.yaml", "low_lr.yaml", "--target", TARGET, cwd=candidates)
    assert two.returncode == ExitCode.USAGE and "--batch" in two.stderr
    ray = cli("check", "demo_recipe_tiny.yaml", "--backend", "ray", "--target", TARGET, cwd=candidates)
    assert ray.returncode == ExitCode.USAGE
    html = cli("check", "--batch", "demo_recipe_tiny.yaml", "--html", "r.html", "--target", TARGET, cwd=candidates)
    assert html.returncode == ExitCode.USAGE and "--html" in html.stderr
    unknown = cli("check", "--batch", "demo_recipe_tiny.yaml", "--backend", "slurm", "--target", TARGET, cwd=candidates)
    assert unknown.returncode == ExitCode.INPUT and "backend" in unknown.stdout + unknown.stderr
