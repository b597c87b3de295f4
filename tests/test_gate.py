"""The gate: targets, the GO / NO-GO / UNCERTAIN policy, predictor bundles, and `check` end to end."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest

from tuneahead.errors import ExitCode, InputError
from tuneahead.gate.policy import Decision, Policy, judge
from tuneahead.gate.target import Target, parse_target

# ---------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("text", "metric", "value"),
    [
        ("exact_match>=0.8", "exact_match", 0.8),
        ("exact_match >= 0.8", "exact_match", 0.8),
        (">=0.75", None, 0.75),
        ("0.6", None, 0.6),
        ("80%", None, 0.8),
        ("accuracy>=85", "accuracy", 0.85),
    ],
)
def test_parse_target(text: str, metric: str | None, value: float) -> None:
    assert parse_target(text) == Target(metric, pytest.approx(value))


@pytest.mark.parametrize("text", ["", "exact_match<=0.8", "high", "exact_match>=", "150%"])
def test_bad_target_names_the_option(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_target(text)
    assert err.value.location.field == "target"


def test_a_target_the_shell_cut_short_says_to_quote_it() -> None:
    # `--target exact_match>=0.8` unquoted reaches us as "exact_match" (the shell redirected to "=0.8").
    with pytest.raises(InputError) as err:
        parse_target("exact_match")
    assert "redirect" in err.value.message and "'exact_match>=0.8'" in (err.value.hint or "")


# ---------------------------------------------------------------- policy


def test_policy_thresholds() -> None:
    assert judge(0.9, ood=False, diverged=False).decision is Decision.GO
    assert judge(0.1, ood=False, diverged=False).decision is Decision.NO_GO
    assert judge(0.5, ood=False, diverged=False).decision is Decision.UNCERTAIN
    assert judge(None, ood=False, diverged=False).decision is Decision.UNCERTAIN


def test_out_of_distribution_is_never_a_bare_go() -> None:
    j = judge(0.99, ood=True, diverged=False)
    assert j.decision is Decision.UNCERTAIN
    assert j.p_success < 0.99 and j.p_model == 0.99
    # A confident failure stays a failure, with lowered confidence.
    assert judge(0.0, ood=True, diverged=False).decision is Decision.NO_GO


def test_divergence_is_no_go_whatever_the_predictor_says() -> None:
    j = judge(0.95, ood=False, diverged=True)
    assert j.decision is Decision.NO_GO
    assert "diverged" in j.why and j.rule == "diverged" and j.p_model == 0.95
    assert judge(0.95, ood=False, diverged=False).rule is None


def test_nothing_to_learn_is_no_go() -> None:
    j = judge(0.9, ood=False, diverged=False, nothing_to_learn=True)
    assert j.decision is Decision.NO_GO and "token to learn" in j.why


def test_no_whole_answer_is_no_go() -> None:
    j = judge(0.9, ood=False, diverged=False, no_whole_answer=True, error_findings=["truncation"])
    assert j.decision is Decision.NO_GO and "whole" in j.why


def test_no_whole_answer_needs_an_exact_match_target_and_every_answer_cut() -> None:
    from tuneahead.gate.assess import no_whole_answer as _no_whole_answer

    assert _no_whole_answer({"answer_cut_share": 1.0}, "exact_match")
    assert not _no_whole_answer({"answer_cut_share": 0.9}, "exact_match")  # some answers are seen whole
    assert not _no_whole_answer({"answer_cut_share": 1.0}, "rouge_l")  # partial answers still score
    assert not _no_whole_answer({"answer_cut_share": math.nan}, "exact_match")
    assert not _no_whole_answer({}, None)


def test_error_findings_rule_out_go_but_not_no_go() -> None:
    j = judge(0.9, ood=False, diverged=False, error_findings=["truncation", "truncation", "learning_rate"])
    assert j.decision is Decision.UNCERTAIN and j.blocked_by == ("truncation", "learning_rate")
    assert "fix first: truncation, learning_rate" in j.why
    assert judge(0.1, ood=False, diverged=False, error_findings=["truncation"]).decision is Decision.NO_GO
    assert judge(0.5, ood=False, diverged=False, error_findings=["truncation"]).blocked_by == ()


def test_exit_codes() -> None:
    assert Decision.GO.exit_code == ExitCode.OK == 0
    assert Decision.NO_GO.exit_code == 1
    assert Decision.UNCERTAIN.exit_code == 2


def test_policy_rejects_crossed_thresholds() -> None:
    with pytest.raises(ValueError):
        Policy(go_at=0.3, no_go_at=0.7)


# ---------------------------------------------------------------- bundles


def _fake_runs(n: int = 120, seed: int = 0):
    """Runs whose success follows the probe's held-out loss: low loss -> high metric."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    loss = rng.uniform(0.05, 3.0, n)
    metric = np.clip(1.0 - loss / 3.0 + rng.normal(0, 0.05, n), 0, 1)
    return pd.DataFrame({
        "run_id": [f"r{i}" for i in range(n)],
        "family": [f"f{i % 6}" for i in range(n)],
        "probe_eval_loss_end": loss,
        "probe_final_loss": loss * rng.uniform(0.8, 1.2, n),
        "answer_lost_share": rng.uniform(0, 0.05, n),
        "final_metric": metric,
        "target": rng.choice([0.3, 0.5, 0.7], n),
    })


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tuneahead.gate.bundle import write_bundle
    from tuneahead.predict.predictor import Predictor

    runs = _fake_runs()
    stages = [
        (name, factor, Predictor(num_threads=1, seed=i).fit(runs, threshold="target", group_col="family"))
        for i, (name, factor) in enumerate((("short", 1.0), ("long", 3.0)))
    ]
    return write_bundle(tmp_path_factory.mktemp("bundle"), stages, metric="exact_match", trained_on="fake runs")


def test_bundle_round_trip(bundle_dir: Path) -> None:
    from tuneahead.gate.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    assert [s.name for s in bundle.stages] == ["short", "long"]
    assert [s.probe_steps_factor for s in bundle.stages] == [1.0, 3.0]
    assert bundle.metric == "exact_match" and bundle.trained_on == "fake runs"
    # A plain predictor directory is a one-stage bundle.
    single = load_bundle(bundle_dir / "short")
    assert len(single.stages) == 1


def test_bad_bundle_names_the_file(tmp_path: Path, bundle_dir: Path) -> None:
    from tuneahead.gate.bundle import load_bundle

    (tmp_path / "bundle.json").write_text("{not json")
    with pytest.raises(InputError) as err:
        load_bundle(tmp_path)
    assert "bundle.json" in str(err.value.location.file)
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    meta["stages"][0]["dir"] = "../elsewhere"
    (tmp_path / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="inside the bundle"):
        load_bundle(tmp_path)
    with pytest.raises(InputError, match="not found"):
        load_bundle(tmp_path / "missing")


def test_bundled_predictor_loads() -> None:
    from tuneahead.gate.bundle import bundled_predictor_dir, load_bundle

    if not (bundled_predictor_dir() / "bundle.json").is_file():
        pytest.skip("no bundled predictor in this checkout")
    bundle = load_bundle()
    assert bundle.metric == "exact_match"
    assert bundle.stages[0].probe_steps_factor == 1.0
    assert all(s.predictor.summary is not None for s in bundle.stages)  # the OOD check needs it


# ---------------------------------------------------------------- check end to end (tiny model)


def _write_task(folder: Path, n: int = 416, seed: int = 0, answer_words: int = 1) -> Path:
    """A small chat classification task and a tiny-0.2m recipe for it (the label, `answer_words` times)."""
    rng = random.Random(seed)
    words = {"positive": ["great", "lovely", "fine", "happy"], "negative": ["awful", "bad", "sad", "poor"]}
    rows = []
    for i in range(n):
        label = rng.choice(sorted(words))
        text = " ".join(rng.choice(words[label]) for _ in range(4))
        rows.append({"messages": [{"role": "user", "content": f"Sentiment of: {text} #{i}"},
                                  {"role": "assistant", "content": " ".join([label] * answer_words)}]})
    (folder / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows[: n - 16]) + "\n")
    (folder / "eval.jsonl").write_text("\n".join(json.dumps(r) for r in rows[n - 16 :]) + "\n")
    recipe = folder / "recipe.yaml"
    recipe.write_text(
        "base_model: tiny-0.2m\nadapter: {type: full}\nlearning_rate: 1.0e-3\nnum_epochs: 3\n"
        "micro_batch_size: 8\nmax_seq_length: 64\nprecision: fp32\nseed: 3\n"
        "datasets: [{path: train.jsonl}]\neval_datasets: [{path: eval.jsonl}]\n"
    )
    return recipe


def test_check_end_to_end(tmp_path: Path, bundle_dir: Path) -> None:
    from tuneahead.gate import check
    from tuneahead.report.check_html import render_check_html

    recipe = _write_task(tmp_path)
    seen: list[str] = []
    verdict = check(recipe, target="exact_match>=0.5", predictor=bundle_dir, threads=1,
                    progress=lambda kind, payload: seen.append(kind))
    assert verdict.decision in set(Decision)
    assert verdict.exit_code == verdict.decision.exit_code
    assert 0.0 <= verdict.p_success <= 1.0
    lo, hi = verdict.interval
    assert lo <= verdict.forecast <= hi
    # The SHAP contributions add up to what they explain: the success model's log-odds, or the
    # forecast (before clipping to [0, 1]).
    total = verdict.base_value + sum(verdict.contributions.values())
    if verdict.explains == "p_success":
        p_raw = verdict.p_raw
        assert p_raw is not None and total == pytest.approx(math.log(p_raw / (1 - p_raw)), abs=1e-6)
    else:
        assert total == pytest.approx(verdict.forecast, abs=1e-6) or not 0 < verdict.forecast < 1
    assert verdict.stages[0].name == "short" and verdict.stages[0].steps >= 20
    # Features relative to the data are computed where the data and the probe meet.
    over = verdict.features["probe_eval_sequence_accuracy"] - verdict.features["majority_answer_share"]
    assert verdict.features["probe_eval_accuracy_over_majority"] == pytest.approx(over)
    assert verdict.check_flops > 0 and verdict.cost.full_flops > verdict.check_flops
    assert "probe" in seen and "stage" in seen
    doc = json.loads(json.dumps(verdict.to_dict(), default=str))
    assert doc["decision"] == verdict.decision.value
    assert doc["target"] == {"metric": "exact_match", "value": 0.5}
    # The predictability regime follows from the stages and the evidence shown, and is reported.
    assert doc["regime"]["name"] in ("static-sufficient", "dynamic-critical", "noise-dominant", "undetermined")
    assert (doc["regime"]["name"] == "undetermined") == (
        [s.decision for s in verdict.stages] == ["UNCERTAIN"])
    page = render_check_html(verdict)
    assert "Predictability: " + verdict.regime.name in page
    assert verdict.decision.value in page and "<svg" in page
    # Self-contained: nothing is fetched (XML namespaces are names, not requests).
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "<script" not in page and "<link" not in page


def test_uncertain_first_stage_extends_the_probe(tmp_path: Path, bundle_dir: Path) -> None:
    from tuneahead.gate import check

    recipe = _write_task(tmp_path)
    # Thresholds nothing can reach make every stage UNCERTAIN, so the check must try the long stage.
    verdict = check(recipe, target=0.5, predictor=bundle_dir, threads=1,
                    policy=Policy(go_at=1.0, no_go_at=0.0), max_probe_share=1.0)
    assert [s.name for s in verdict.stages] == ["short", "long"]
    assert verdict.stages[1].steps > verdict.stages[0].steps
    # Open after the default probe: the longer one decided it (dynamic-critical), or could not (noise-dominant).
    assert verdict.regime.name == ("noise-dominant" if verdict.stages[1].decision == "UNCERTAIN" else "dynamic-critical")
    assert verdict.check_flops == pytest.approx(sum(s.flops for s in verdict.stages))
    fixed = check(recipe, target=0.5, predictor=bundle_dir, threads=1, adaptive=False,
                  policy=Policy(go_at=1.0, no_go_at=0.0))
    assert [s.name for s in fixed.stages] == ["short"]
    # Extending past the compute cap is not done, and the verdict says why.
    capped = check(recipe, target=0.5, predictor=bundle_dir, threads=1,
                   policy=Policy(go_at=1.0, no_go_at=0.0), max_probe_share=0.2)
    assert [s.name for s in capped.stages] == ["short"]
    assert any("max-probe-share" in n for n in capped.notes)


def test_every_answer_cut_off_is_no_go(tmp_path: Path, bundle_dir: Path) -> None:
    from tuneahead.gate import check

    recipe = _write_task(tmp_path, answer_words=8)
    # Rows are 30-45 tokens, answers about 15: at 34 every answer loses its end, none is lost entirely.
    recipe.write_text(recipe.read_text().replace("max_seq_length: 64", "max_seq_length: 34"))
    verdict = check(recipe, target="exact_match>=0.5", predictor=bundle_dir, threads=1)
    assert verdict.described.descriptors["answer_cut_share"] == 1.0
    assert verdict.described.descriptors["answer_lost_share"] == 0.0
    assert verdict.decision is Decision.NO_GO and "whole" in verdict.why and verdict.rule == "no_whole_answer"
    assert any(f.code == "truncation" and f.severity == "error" for f in verdict.findings)
    # The report says that a rule decided, and what the predictor alone would have said.
    from tuneahead.report.check_html import render_check_html

    assert "A rule decided this verdict" in render_check_html(verdict)


def test_check_rejects_a_target_for_another_metric(tmp_path: Path, bundle_dir: Path) -> None:
    from tuneahead.gate import check

    recipe = _write_task(tmp_path)
    with pytest.raises(InputError, match="forecasts 'exact_match'"):
        check(recipe, target="rouge_l>=0.5", predictor=bundle_dir)


def test_diverging_probe_is_no_go(tmp_path: Path, bundle_dir: Path) -> None:
    from tuneahead.gate import check

    recipe = _write_task(tmp_path)
    text = recipe.read_text().replace("learning_rate: 1.0e-3", "learning_rate: 1.0e+4")
    recipe.write_text(text.replace("precision: fp32", "precision: fp32\nmax_grad_norm: null"))
    verdict = check(recipe, target=0.5, predictor=bundle_dir, threads=1)
    # NaN or a loss stuck at the no-information level, whichever this CPU's kernels produce: both diverge.
    assert verdict.probe.diverged
    assert verdict.decision is Decision.NO_GO and verdict.rule == "diverged"
    assert math.isfinite(verdict.p_success)


# ---------------------------------------------------------------- the HTML report in a real browser


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_report_renders_in_headless_chromium(tmp_path: Path, bundle_dir: Path) -> None:
    """The page opens in Chromium without console errors; a screenshot is saved next to it."""
    import subprocess

    from tuneahead.gate import check
    from tuneahead.report.check_html import write_check_html

    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (`make test` installs the Debian package when it can)")
    verdict = check(_write_task(tmp_path), target=0.5, predictor=bundle_dir, threads=1)
    page = write_check_html(verdict, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
         "--v=0", "--window-size=1200,2400", f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert run.returncode == 0, run.stderr[-2000:]
    assert console == [], console  # no script errors, no failed loads reported to the console
    assert shot.is_file() and shot.stat().st_size > 20_000  # a rendered page, not a blank one
    print(f"screenshot: {shot}")


def test_chromium_console_capture_works(tmp_path: Path) -> None:
    """The check above would be blind if Chromium's console never reached stderr: prove it does."""
    import subprocess

    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed")
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>console.error('boom');</script></body></html>")
    run = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         f"--screenshot={tmp_path / 'bad.png'}", bad.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert any(":CONSOLE" in line and "boom" in line for line in run.stderr.splitlines())


def test_recipe_choices_outside_the_training_runs_are_flagged(tmp_path: Path, bundle_dir: Path) -> None:
    import shutil

    from tuneahead.gate import check
    from tuneahead.gate.recipe_space import outside_space, recipe_space

    space = recipe_space([{"adapter": {"type": "full"}, "optimizer": "adamw_torch", "lr_scheduler": "cosine",
                           "packing": False, "loss_on": "completion"}])
    assert space["adapter.type"] == ["full"] and space["packing"] == ["False"]
    lora = {"adapter": {"type": "lora"}, "optimizer": "adamw_torch", "lr_scheduler": "cosine", "packing": False,
            "loss_on": "completion"}
    assert outside_space(lora, space) == [
        "recipe adapter.type = lora, but the predictor's training runs only used full"
    ]
    assert outside_space(lora, None) == []

    bundle = tmp_path / "bundle"
    shutil.copytree(bundle_dir, bundle)
    meta = json.loads((bundle / "bundle.json").read_text())
    meta["recipe_space"] = {"optimizer": ["sgd"]}
    (bundle / "bundle.json").write_text(json.dumps(meta))
    verdict = check(_write_task(tmp_path), target=0.5, predictor=bundle, threads=1)
    assert verdict.ood and verdict.decision is not Decision.GO
    assert any("optimizer" in r for r in verdict.ood_reasons)


def test_recorded_checks_become_run_history(tmp_path: Path, bundle_dir: Path) -> None:
    """check --record, then outcome: the run exports in the corpus's run-table shape, ready for `fit`."""
    import subprocess
    import sys

    from tuneahead.gate.bundle import load_bundle
    from tuneahead.store.export import to_frame
    from tuneahead.store.sqlite import RunStore

    recipe = _write_task(tmp_path)
    store = tmp_path / "history.db"
    out = subprocess.run(
        [sys.executable, "-m", "tuneahead.cli", "check", str(recipe), "--target", "0.5", "--predictor",
         str(bundle_dir), "--threads", "1", "--record", str(store), "--task", "sentiment", "--json"],
        capture_output=True, text=True, timeout=600,
    )
    doc = json.loads(out.stdout)
    run_id = doc["recorded"]["run_id"]
    with RunStore(store) as s:
        assert s.get_run(run_id).final_metric is None  # no outcome yet
    done = subprocess.run(
        [sys.executable, "-m", "tuneahead.cli", "outcome", str(store), run_id, "0.9", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["success"] is True
    with RunStore(store) as s:
        row = to_frame(s).iloc[0]
    assert row["final_metric"] == 0.9 and row["target"] == 0.5 and row["family"] == "sentiment"
    names = load_bundle(bundle_dir).stages[0].predictor.feature_names
    assert set(names) <= set(row.index)  # a predictor fitted on such runs reads the same features
    missing = subprocess.run(
        [sys.executable, "-m", "tuneahead.cli", "outcome", str(store), "no-such-run", "0.5"],
        capture_output=True, text=True, timeout=120,
    )
    assert missing.returncode == ExitCode.INPUT and "no-such-run" in missing.stderr


def test_a_finding_count_reason_names_the_findings() -> None:
    from tuneahead.data.findings import Finding
    from tuneahead.gate.run import _name_findings
    from tuneahead.predict.explain import Reason

    findings = [Finding("truncation", "error", "t", "e", "f"), Finding("duplicates", "warning", "t", "e", "f")]
    counted = Reason("findings", -0.2, ("findings_errors", "findings_warnings"),
                     "pitfall findings of severity error raised by the data and recipe checks: 1", "\u22120.20")
    other = Reason("size", 0.1, ("n_examples",), "training examples: 400", "+0.10")
    named = _name_findings([counted, other], findings)
    assert named[0].text.endswith(": 1 (truncation) \u2192 \u22120.20") and named[1] == other
