"""Campaign runner and run store: resumable, no lost or repeated runs, failures recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tuneahead.bench.campaign import load_spec, run_campaign
from tuneahead.compute.executors import LocalExecutor
from tuneahead.store.export import export_parquet
from tuneahead.store.sqlite import RunStore

PLUGINS = Path(__file__).parent / "plugins"


def write_spec(tmp: Path, **options) -> Path:
    spec = {"name": "t", "runs": options.pop("runs", 6), "store": "runs.db", "run_fn": "sleepy",
            "options": options}
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_campaign_runs_everything_once_and_exports(tmp_path) -> None:
    spec = load_spec(write_spec(tmp_path, fail=["t-00003"]))
    counts = run_campaign(spec, executor=LocalExecutor(2))
    assert counts == {"pending": 0, "done": 5, "failed": 1}
    # Re-running does nothing new; the failure was retried once more (max_attempts=2) and stays failed.
    counts = run_campaign(spec, executor=LocalExecutor(2))
    assert counts["done"] == 5 and counts["failed"] == 1
    with RunStore(tmp_path / "runs.db") as store:
        assert store.count_runs() == 5
        errors = dict(store.task_errors("t"))
        assert "planned failure" in errors["t-00003"]
        runs_path, truth_path = export_parquet(store, tmp_path / "out" / "runs.parquet")
    runs, truth = pd.read_parquet(runs_path), pd.read_parquet(truth_path)
    assert len(runs) == 5 and runs["run_id"].is_unique
    assert not any(c.startswith("truth_") for c in runs.columns)  # ground truth is stored apart
    assert list(truth.columns) == ["run_id", "truth_knob"]
    # One step axis: every logged train step plus the eval steps; eval values only where evaluated.
    assert runs.loc[0, "curve_steps"].tolist() == [5, 10, 15, 20]
    assert runs.loc[0, "curve_train_loss"].tolist() == [3.0, 2.5, 2.0, 1.8]
    metric = runs.loc[0, "curve_eval_metric"].tolist()
    assert metric[1::2] == [0.1, 0.2] and all(m is None or m != m for m in metric[0::2])


def test_ray_executor_runs_the_same_campaign(tmp_path, monkeypatch) -> None:
    import ray

    from tuneahead.compute.executors import RayExecutor

    # Ray's worker processes inherit the driver's environment: that is how they find the fake run function.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]))
    spec = load_spec(write_spec(tmp_path, fail=["t-00003"]))
    counts = run_campaign(spec, executor=RayExecutor(2))
    assert counts == {"pending": 0, "done": 5, "failed": 1}
    assert not ray.is_initialized()  # it started a local Ray, so it stopped it
    with RunStore(tmp_path / "runs.db") as store:
        assert store.count_runs() == 5 and "planned failure" in dict(store.task_errors("t"))["t-00003"]


@pytest.mark.parametrize("kind", ["local", "ray"])
def test_a_worker_killed_mid_run_still_yields_every_run_exactly_once(tmp_path, monkeypatch, kind) -> None:
    from tuneahead.compute.executors import make_executor

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]))
    log = tmp_path / "executions.log"
    killed = ["t-00002", "t-00005"]
    spec = load_spec(write_spec(tmp_path, runs=8, sleep=0.2, log=str(log), die_once=killed, marker_dir=str(tmp_path)))
    failures: dict[str, str] = {}
    record = lambda outcome, counts: outcome.error and not outcome.innocent and failures.setdefault(  # noqa: E731
        outcome.run_id, outcome.error)
    counts = run_campaign(spec, executor=make_executor(kind, 2), on_outcome=record)
    assert counts == {"pending": 0, "done": 8, "failed": 0}
    assert all((tmp_path / f"{run_id}.killed").exists() for run_id in killed)  # they did die once
    assert set(failures) == set(killed)
    assert all("worker process died" in e or "Ray task failed" in e for e in failures.values()), failures
    finished = log.read_text().split()
    assert sorted(finished) == [f"t-{i:05d}" for i in range(8)]  # each run finished once: none lost, none twice
    with RunStore(tmp_path / "runs.db") as store:
        assert sorted(store.run_ids()) == sorted(finished)
        # Each killed run was charged its one failed attempt and retried (max_attempts 2); the runs a broken
        # local pool took down with it were not charged.
        attempts = store.task_attempts("t")
    assert {run_id for run_id, n in attempts.items() if n} == set(killed), attempts


@pytest.mark.timeout(120)  # it hung before the fix: fail, do not hang
def test_a_long_pool_never_blocks_on_its_bookkeeping(monkeypatch) -> None:
    """Workers report each task they start through a pipe: the driver must read it as it goes (a pipe left
    unread fills after ~1,000 messages and blocks every worker)."""
    from fake_runs import echo

    from tuneahead.compute.executors import LocalExecutor

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]))
    executor = LocalExecutor(2)
    try:
        done = [o.result for o in executor.map_unordered(echo, ((str(i), {}) for i in range(3000)))]
    finally:
        executor.shutdown()
    assert sorted(done, key=int) == [str(i) for i in range(3000)]


def test_kill_and_restart_loses_and_repeats_nothing(tmp_path) -> None:
    log = tmp_path / "executions.log"
    spec_path = write_spec(tmp_path, runs=12, sleep=0.4, log=str(log))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "tuneahead.cli", "campaign", "run", str(spec_path), "--workers", "2", "--json"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if log.exists() and len(log.read_text().split()) >= 3:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # driver and workers die mid-run, no clean-up
    proc.wait()
    with RunStore(tmp_path / "runs.db") as store:
        finished_before = set(store.run_ids())
    assert 0 < len(finished_before) < 12
    with log.open("a") as fh:
        fh.write("RESTART\n")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with RunStore(tmp_path / "runs.db") as store:
        assert sorted(store.run_ids()) == [f"t-{i:05d}" for i in range(12)]  # nothing lost
    after_restart = log.read_text().split("RESTART")[1].split()
    assert not set(after_restart) & finished_before  # nothing finished was run again
    assert len(after_restart) == len(set(after_restart))


def test_bad_spec_names_the_field(tmp_path) -> None:
    from tuneahead.errors import InputError

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nruns: -3\n", encoding="utf-8")
    try:
        load_spec(bad)
    except InputError as exc:
        assert exc.location is not None and exc.location.field == "runs"
    else:
        raise AssertionError("expected InputError")


def test_a_spec_cannot_name_code_to_run(tmp_path) -> None:
    from tuneahead.bench.campaign import resolve_run_fn
    from tuneahead.errors import InputError

    for dotted in ("builtins:exec", "os:system", "tuneahead.bench.runner:_default_probe"):
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump({"name": "x", "runs": 1, "run_fn": dotted}), encoding="utf-8")
        with pytest.raises(InputError) as caught:
            load_spec(bad)
        assert caught.value.location.field == "run_fn" and "registered run function" in str(caught.value)
        with pytest.raises(InputError):
            resolve_run_fn(dotted)
    # The project's own run function, by name or by the code path older specs wrote.
    assert load_spec(write_spec(tmp_path)).run_fn == "sleepy"
    legacy = tmp_path / "legacy.yaml"
    legacy.write_text("name: x\nruns: 1\nrun_fn: 'tuneahead.bench.runner:execute_task'\n", encoding="utf-8")
    assert load_spec(legacy).run_fn == "tunebench"


def test_datasheet_on_a_synthetic_corpus(tmp_path) -> None:
    from tuneahead.bench.datasheet import build_datasheet, to_markdown

    rows = []
    for i in range(60):
        fam = f"fam{i % 4}"
        rows.append({"run_id": f"r{i}", "family": fam, "model": "tiny-1m", "final_metric": (i % 10) / 10,
                     "target": 0.5, "cost_full": 100.0, "cost_probe": 2.0, "cost_proxy": 30.0,
                     "recipe_log10_learning_rate": -3 - (i % 3), "recipe_num_epochs": 1 + i % 2,
                     "recipe_full_finetune": float(i % 10 < 8)})
    truth = pd.DataFrame({"run_id": [f"r{i}" for i in range(60)],
                          "truth_problems": [str(["label_noise"] if i % 10 < 5 else []) for i in range(60)]})
    sheet = build_datasheet(pd.DataFrame(rows), truth)
    assert sheet["success_share"] == 0.5
    assert sheet["failures_by_planted_problem"]["label_noise"] == {"failed": 30, "runs": 30, "failure_share": 1.0}
    assert sheet["success_share_problem_planted"] == 0.0 and sheet["success_share_no_problem_planted"] == 1.0
    assert sheet["success_share_by_model"] == {"tiny-1m": 0.5}
    assert sheet["success_share_by_adapter"] == {"LoRA": 1.0, "full": 3 / 8}
    assert sheet["costs"]["probe_share_of_full_median"] == 0.02
    assert 0 <= sheet["recipe_hyperparameters_only"]["balanced_accuracy"] <= 1
    assert "Failures by planted problem" in to_markdown(sheet)


def test_features_measured_later_are_added_never_replaced(tmp_path) -> None:
    from fake_runs import sleepy_run

    with RunStore(tmp_path / "runs.db") as store:
        store.add_run(sleepy_run("r1", {"seed": 3, "options": {}}))
        recorded = store.get_run("r1").dynamic_features["probe_loss_initial"]
        added = store.add_missing_features("r1", "dynamic", {"probe_loss_initial": 99.0, "probe_new": 0.25})
        run = store.get_run("r1")
    assert added == 1
    assert run.dynamic_features == {"probe_loss_initial": recorded, "probe_new": 0.25}


def test_a_background_campaign_stops_on_sigterm_and_sigint(tmp_path) -> None:
    """Started like `nohup ... &` (SIGINT ignored), both signals still stop it cleanly: no worker is left."""
    import psutil

    log = tmp_path / "executions.log"
    spec_path = write_spec(tmp_path, runs=40, sleep=0.3, log=str(log))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "tuneahead.cli", "campaign", "run", str(spec_path), "--workers", "2"]
    for sig in (signal.SIGINT, signal.SIGTERM):
        ignore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
        proc = subprocess.Popen(cmd, env=env, preexec_fn=ignore_sigint, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while time.time() < deadline and not (log.exists() and log.read_text().count("\n") >= 2):
            time.sleep(0.1)
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and b"interrupted" in err, (sig, err[-300:])
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, (sig, alive)
        log.write_text("")
    with RunStore(tmp_path / "runs.db") as store:
        assert 0 < store.count_runs() < 40


def test_workers_exit_when_the_driver_is_killed(tmp_path) -> None:
    """kill -9 of the driver alone (no process group): its workers notice and exit instead of running on."""
    import psutil

    log = tmp_path / "executions.log"
    spec_path = write_spec(tmp_path, runs=20, sleep=3.0, log=str(log))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "tuneahead.cli", "campaign", "run", str(spec_path), "--workers", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = psutil.Process(proc.pid)
    deadline = time.time() + 120
    workers: list = []
    while time.time() < deadline and len(workers) < 2:
        workers = [p for p in driver.children(recursive=True) if "spawn" in " ".join(p.cmdline())]
        time.sleep(0.2)
    assert workers, "the campaign started no worker"
    proc.kill()
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=15)
    for p in alive:  # do not leave them behind even when the test fails
        p.kill()
    assert not alive


def test_seed_repeats_plan_each_scenario_several_times_in_groups(tmp_path) -> None:
    path = write_spec(tmp_path, runs=3)
    spec = load_spec(path)
    assert list(spec.plan()) == ["t-00000", "t-00001", "t-00002"]  # one repeat: the run ids of before
    repeated = spec.model_copy(update={"seed_repeats": 3})
    plan = repeated.plan()
    assert list(plan)[:3] == ["t-00000", "t-00000-r1", "t-00000-r2"]
    assert len(plan) == 9
    # A repeat is the same scenario (same seed) with its repeat number; the runner derives the training seed.
    assert {p["seed"] for rid, p in plan.items() if rid.startswith("t-00001")} == {spec.plan()["t-00001"]["seed"]}
    assert [p["seed_repeat"] for rid, p in plan.items() if rid.startswith("t-00001")] == [0, 1, 2]


def test_datasheet_measures_the_noise_of_seed_repeats() -> None:
    from tuneahead.bench.datasheet import seed_repeat_noise, to_markdown

    # Three scenarios, each trained with 3 seeds: one steady, one that straddles the bar, one alone (ignored).
    metrics = {"a": [0.50, 0.52, 0.54], "b": [0.38, 0.42, 0.46], "c": [0.9]}
    rows, truth = [], []
    for scenario, values in metrics.items():
        for k, value in enumerate(values):
            rows.append({"run_id": f"{scenario}{k}", "final_metric": value, "target": 0.4})
            truth.append({"run_id": f"{scenario}{k}", "truth_scenario_seed": scenario})
    noise = seed_repeat_noise(pd.DataFrame(rows), pd.DataFrame(truth))
    assert noise is not None and noise["scenarios"] == 2 and noise["runs"] == 6
    assert noise["sd_mean"] == pytest.approx((0.02 + 0.04) / 2)
    assert noise["range_max"] == pytest.approx(0.08)
    assert noise["label_flips"] == 1 and noise["label_flip_share"] == 0.5
    assert seed_repeat_noise(pd.DataFrame(rows[:1]), pd.DataFrame(truth[:1])) is None
    sheet = {"runs": 7, "success_share": 0.5, "families": {}, "models": {}, "final_metric_histogram": [],
             "success_share_by_family": {}, "seed_repeats": noise,
             "costs": dict.fromkeys(["flops_full_total", "flops_probe_total", "flops_proxy_total",
                                     "probe_share_of_full_median", "seconds_full_total", "seconds_probe_total",
                                     "seconds_proxy_total"], 0.0)}
    assert "1 of 2 scenarios (50%)" in to_markdown(sheet)
