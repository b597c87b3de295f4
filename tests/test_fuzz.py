"""Fuzzing the inputs users hand us: data rows of every format, recipes for every reader, run tables,
predictor bundles. The property is always the same: the command succeeds, or it fails with the
project's own input error (exit 3/4/5) whose location names the file or the field — never a
traceback, never an internal error (exit 10), never a hang (each test has a timeout).

Examples are derandomised, so every machine runs the same cases and a failure reproduces.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneahead.errors import ExitCode, InputError, TuneAheadError

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,  # time is bounded by the pytest timeout, not per case (no timing-dependent failures)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)

# ---------------------------------------------------------------- shared strategies

# Text that has broken things before: markup, Jinja, YAML tags, control characters, very long words.
NASTY = st.one_of(st.sampled_from([
    "[/red]", "[bold]x", "{{ raise('x') }}", "{% for %}", "!!python/object/apply:os.system ['true']",
    "\x00", "\u202e", "\ufeff", "<|im_end|>", "<|im_start|>assistant", "", " ", "\n", "NaN",
]), st.integers(1000, 5000).map(lambda n: "a" * n))
TEXT = st.one_of(st.text(max_size=40), NASTY)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True), TEXT,
)
JSON = st.recursive(
    SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
ROLES = st.one_of(st.sampled_from(["system", "user", "assistant", "human", "gpt", "tool", "function"]), TEXT)


def _message(role_key: str = "role", content_key: str = "content"):
    return st.fixed_dictionaries({role_key: ROLES, content_key: st.one_of(TEXT, JSON)})


ROW = st.one_of(
    st.fixed_dictionaries({"messages": st.one_of(st.lists(_message(), max_size=5), JSON)}),
    st.fixed_dictionaries({"conversations": st.lists(_message("from", "value"), max_size=5)}),
    st.fixed_dictionaries({"prompt": st.one_of(TEXT, JSON), "completion": st.one_of(TEXT, JSON)}),
    st.fixed_dictionaries({"instruction": TEXT, "input": st.one_of(TEXT, st.none()), "output": st.one_of(TEXT, JSON)}),
    st.fixed_dictionaries({"text": st.one_of(TEXT, JSON)}),
    st.dictionaries(TEXT, JSON, max_size=4),
)


def _json_default(value):
    return str(value)


def write_rows(path: Path, rows: list, kind: str) -> Path:
    if kind == "jsonl":
        path.write_text("\n".join(json.dumps(r, default=_json_default) for r in rows) + "\n", encoding="utf-8")
    elif kind == "json":
        path.write_text(json.dumps(rows, default=_json_default), encoding="utf-8")
    else:
        keys = sorted({k for r in rows if isinstance(r, dict) for k in r})
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(keys)
        for r in rows:
            cells = r if isinstance(r, dict) else {}
            writer.writerow([v if isinstance(v, str) else json.dumps(v, default=_json_default)
                             for v in (cells.get(k, "") for k in keys)])
        path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def run_cli(*args: str) -> tuple[int, str, str]:
    """`tuneahead ARGS` in this process: (exit code, stdout, stderr)."""
    from tuneahead.cli import app
    from tuneahead.commands._common import run_app

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["tuneahead", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_app(app)
    finally:
        sys.argv = saved
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, out: str, err: str, *, ok: tuple[int, ...] = (ExitCode.OK,)) -> None:
    assert code in (*ok, ExitCode.USAGE, ExitCode.INPUT, ExitCode.MODEL), (code, out[-800:], err[-800:])
    assert "Traceback" not in err and "internal error" not in err, err[-800:]
    if code in (ExitCode.INPUT, ExitCode.MODEL) and out.strip():
        doc = json.loads(out)
        assert doc["ok"] is False and (doc["file"] or doc["field"]), doc


def assert_located(exc: TuneAheadError) -> None:
    assert exc.location is not None and (exc.location.file or exc.location.field), str(exc)


# ---------------------------------------------------------------- data rows, every format


@pytest.mark.timeout(300)
@FUZZ
@given(rows=st.lists(ROW, min_size=1, max_size=6), kind=st.sampled_from(["jsonl", "json", "csv"]),
       skip=st.booleans())
def test_describe_any_rows(tmp_path_factory, rows, kind, skip) -> None:
    path = write_rows(tmp_path_factory.mktemp("rows") / f"data.{kind}", rows, kind)
    args = ["describe", "--data", str(path), "--json", *(["--skip-invalid"] if skip else [])]
    code, out, err = run_cli(*args)
    assert_clean(code, out, err)


@pytest.mark.timeout(300)
@FUZZ
@given(data=st.binary(max_size=300), kind=st.sampled_from(["jsonl", "json", "csv", "parquet", "jsonl.gz"]))
def test_describe_any_bytes(tmp_path_factory, data, kind) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"data.{kind}"
    path.write_bytes(data)
    assert_clean(*run_cli("describe", "--data", str(path), "--json"))


# ---------------------------------------------------------------- recipes, every reader

BASE_RECIPES = {
    "native.yaml": {"tuneahead_recipe": 1, "base_model": "tiny-1m", "learning_rate": 1e-3,
                    "adapter": {"type": "lora", "rank": 8}, "datasets": [{"path": "train.jsonl"}]},
    "axolotl.yml": {"base_model": "tiny-1m", "learning_rate": 2e-4, "adapter": "lora", "lora_r": 8,
                    "sequence_len": 512, "micro_batch_size": 2, "num_epochs": 1, "chat_template": "chatml",
                    "datasets": [{"path": "train.jsonl", "type": "chat_template"}]},
    "llamafactory.yaml": {"model_name_or_path": "tiny-1m", "stage": "sft", "finetuning_type": "lora",
                          "lora_rank": 8, "learning_rate": 1e-4, "cutoff_len": 512, "dataset": "train.jsonl",
                          "per_device_train_batch_size": 2, "num_train_epochs": 1.0},
    "trl.yaml": {"model_name_or_path": "tiny-1m", "learning_rate": 2e-5, "max_length": 512, "use_peft": True,
                 "lora_r": 8, "per_device_train_batch_size": 2, "dataset_name": "train.jsonl"},
}


def _mutate(config: dict, rng: random.Random, value) -> dict:
    out = json.loads(json.dumps(config))
    key = rng.choice(sorted(out))
    action = rng.choice(["set", "set", "delete", "add", "nest"])
    if action == "set":
        out[key] = value
    elif action == "delete":
        out.pop(key)
    elif action == "add":
        out[f"x_{rng.randrange(100)}"] = value
    else:
        out[key] = {"inner": value}
    return out


@pytest.mark.timeout(300)
@FUZZ
@given(name=st.sampled_from(sorted(BASE_RECIPES)), seed=st.integers(0, 10**6),
       value=st.one_of(SCALAR, st.lists(SCALAR, max_size=3), st.dictionaries(TEXT, SCALAR, max_size=2)),
       as_json=st.booleans())
def test_any_recipe_mutation(tmp_path_factory, name, seed, value, as_json) -> None:
    from tuneahead.recipe import load_recipe

    config = _mutate(BASE_RECIPES[name], random.Random(seed), value)
    folder = tmp_path_factory.mktemp("recipe")
    path = folder / (Path(name).stem + ".json" if as_json else name)
    try:
        text = json.dumps(config) if as_json else yaml.safe_dump(config, allow_unicode=True)
    except (ValueError, yaml.YAMLError):
        return  # a value the writer cannot even write (NaN in strict JSON): nothing a user could hand us
    path.write_text(text, encoding="utf-8")
    try:
        recipe = load_recipe(path)
    except InputError as exc:
        assert_located(exc)
    else:
        assert recipe.base_model


@pytest.mark.timeout(300)
@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.sampled_from([
    "a: &a [*a]", "!!python/object/apply:os.system ['true']", "base_model: !!binary AAAA", "- - - -",
    "base_model: x\nbase_model: y", "? [a, b]\n: c", "{" * 200, "base_model: {{ x }}", "%YAML 9.9\n---\na: 1",
])))
def test_any_recipe_text(tmp_path_factory, text) -> None:
    from tuneahead.recipe import load_recipe

    path = tmp_path_factory.mktemp("recipe-text") / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_recipe(path)
    except InputError as exc:
        assert_located(exc)


# ---------------------------------------------------------------- run tables for fit / evaluate

RUN_CELL = st.one_of(SCALAR, st.lists(st.floats(allow_nan=True), max_size=3))


def _run_table(rng: random.Random, n: int, mutations: list) -> list[dict]:
    rows = [{"run_id": f"r{i}", "family": f"f{i % 3}", "probe_eval_loss_end": rng.uniform(0, 3),
             "n_examples": rng.randrange(10, 1000), "final_metric": rng.random(), "target": 0.5,
             "curve_steps": [10, 20], "curve_eval_metric": [rng.random(), rng.random()]} for i in range(n)]
    for row_pick, column, value in mutations:
        row = rows[row_pick % n]
        row[column] = value
    return rows


@pytest.mark.timeout(300)
@FUZZ
@given(seed=st.integers(0, 10**6), n=st.integers(1, 30), kind=st.sampled_from(["csv", "jsonl", "json"]),
       mutations=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(
           ["run_id", "family", "probe_eval_loss_end", "final_metric", "target", "curve_steps", "curve_eval_metric",
            "extra"]), RUN_CELL), max_size=3))
def test_any_run_table_reads_or_is_refused(tmp_path_factory, seed, n, kind, mutations) -> None:
    from tuneahead.store.table import Task, load_runs

    rows = _run_table(random.Random(seed), n, mutations)
    path = tmp_path_factory.mktemp("runs") / f"runs.{kind}"
    if kind == "csv":
        import pandas as pd

        frame = pd.DataFrame(rows)
        for col in ("curve_steps", "curve_eval_metric"):
            frame[col] = [json.dumps(v, default=_json_default) if isinstance(v, list) else v for v in frame[col]]
        frame.to_csv(path, index=False)
    elif kind == "jsonl":
        path.write_text("\n".join(json.dumps(r, default=_json_default) for r in rows) + "\n", encoding="utf-8")
    else:
        path.write_text(json.dumps(rows, default=_json_default), encoding="utf-8")
    try:
        table = load_runs(path)
        task = Task(threshold="target").resolve(table)
        task.success(table)
    except InputError as exc:
        assert_located(exc)


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=8)
@given(seed=st.integers(0, 10**6), command=st.sampled_from(["fit", "evaluate"]),
       mutations=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(
           ["final_metric", "target", "probe_eval_loss_end", "family"]), RUN_CELL), max_size=2))
def test_fit_and_evaluate_on_any_run_table(tmp_path_factory, seed, command, mutations) -> None:
    import pandas as pd

    folder = tmp_path_factory.mktemp("fit")
    path = folder / "runs.csv"
    frame = pd.DataFrame(_run_table(random.Random(seed), 30, mutations))
    frame = frame.drop(columns=["curve_steps", "curve_eval_metric"])
    frame.to_csv(path, index=False)
    extra = ["--out", str(folder / "p")] if command == "fit" else ["--seeds", "1", "--folds", "2", "--n-boot", "20",
                                                                    "--methods", "tuneahead,majority"]
    code, out, err = run_cli(command, "--runs", str(path), "--threshold", "target", "--json", *extra)
    assert_clean(code, out, err)


# ---------------------------------------------------------------- predictor bundles


@pytest.fixture(scope="module")
def predictor_dir(tmp_path_factory) -> Path:
    from tuneahead.evaluate.synthetic import make_synthetic_runs
    from tuneahead.predict import Predictor

    runs = make_synthetic_runs(120, seed=5, missing_probe_share=0.1, with_curves=False)
    predictor = Predictor(n_estimators=20, num_threads=1).fit(runs, "final_metric", threshold="target",
                                                                group_col="family")
    return predictor.save(tmp_path_factory.mktemp("predictor") / "p")


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list) and obj:
        yield from _paths(obj[0], (*prefix, 0))


@pytest.mark.timeout(300)
@FUZZ
@given(pick=st.integers(0, 10**6), value=st.one_of(SCALAR, st.just([]), st.just({})), delete=st.booleans())
def test_any_predictor_metadata_edit(predictor_dir, tmp_path_factory, pick, value, delete) -> None:
    import shutil

    from tuneahead.predict import Predictor

    folder = Path(shutil.copytree(predictor_dir, tmp_path_factory.mktemp("edit") / "p"))
    meta = json.loads((folder / "predictor.json").read_text())
    paths = [p for p in _paths(meta) if p]
    path = paths[pick % len(paths)]
    parent = meta
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    text = json.dumps(meta, default=_json_default)
    (folder / "predictor.json").write_text(text)
    try:
        p = Predictor.load(folder)
    except InputError as exc:
        assert_located(exc)
        return
    # An edit it accepted must still give a usable forecast (or a clear error) for a run.
    from tuneahead.evaluate.synthetic import make_synthetic_runs

    row = make_synthetic_runs(3, seed=1, with_curves=False).iloc[:1]
    try:
        forecast = p.predict(row, threshold=0.5, strict=False)[0]
    except InputError:
        return
    assert forecast.metric is None or isinstance(forecast.metric, float)


def test_damaged_model_files_never_crash_the_process(predictor_dir) -> None:
    """200 byte-level mutations of a model file (hash fixed up each time), loaded in one child process:
    each is refused with an input error or loads; none may abort the interpreter."""
    script = textwrap.dedent(f"""
        import hashlib, json, random, shutil, tempfile
        from pathlib import Path
        from tuneahead.errors import InputError
        from tuneahead.predict import Predictor

        src = Path({str(predictor_dir)!r})
        text = (src / "regressor.txt").read_text()
        rng = random.Random(7)
        refused = loaded = 0
        for case in range(200):
            folder = Path(tempfile.mkdtemp()) / "p"
            shutil.copytree(src, folder)
            kind = case % 4
            if kind == 0:
                damaged = text[: rng.randrange(len(text))]
            elif kind == 1:
                lines = text.splitlines(keepends=True)
                del lines[rng.randrange(len(lines))]
                damaged = "".join(lines)
            elif kind == 2:
                i = rng.randrange(len(text))
                damaged = text[:i] + rng.choice("0123456789-= \\n.x") + text[i + 1:]
            else:
                i = rng.randrange(len(text))
                damaged = text[:i] + str(rng.randrange(-5, 10**6)) + text[i:]
            (folder / "regressor.txt").write_text(damaged)
            meta = json.loads((folder / "predictor.json").read_text())
            meta["models"]["regressor"]["sha256"] = hashlib.sha256(damaged.encode()).hexdigest()
            (folder / "predictor.json").write_text(json.dumps(meta))
            try:
                Predictor.load(folder)
                loaded += 1
            except InputError:
                refused += 1
            shutil.rmtree(folder.parent)
        print(refused, loaded)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.returncode, done.stderr[-1500:])
    refused, loaded = map(int, done.stdout.splitlines()[-1].split())  # LightGBM may log lines before it
    assert refused + loaded == 200 and refused > 100

