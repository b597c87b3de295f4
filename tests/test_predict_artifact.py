"""Predictor artifacts: LightGBM text + JSON, identical predictions after a reload in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tuneahead.errors import InputError
from tuneahead.evaluate.synthetic import make_synthetic_runs
from tuneahead.predict import Predictor, SchemaMismatchError


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return make_synthetic_runs(300, seed=21, missing_probe_share=0.1, with_curves=False)


@pytest.fixture(scope="module")
def saved(runs: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[Predictor, Path]:
    p = Predictor(n_estimators=120).fit(runs, "final_metric", threshold="target", group_col="family")
    path = p.save(tmp_path_factory.mktemp("predictor") / "pred")
    return p, path


def test_artifact_is_text_and_json_only(saved: tuple[Predictor, Path]) -> None:
    _, path = saved
    files = sorted(f.name for f in path.iterdir())
    assert "predictor.json" in files and "regressor.txt" in files
    assert set(files) <= {"predictor.json", "regressor.txt", "classifier.txt"}
    for f in path.iterdir():
        f.read_text(encoding="utf-8")  # all text, nothing pickled
    meta = json.loads((path / "predictor.json").read_text())
    assert meta["format"] == "tuneahead-predictor" and meta["format_version"] == 1
    for key in ("schema", "target", "threshold", "p_success", "conformal", "training_summary", "library_versions"):
        assert key in meta, key
    assert meta["schema"]["names"][0] == "data_n_examples_log10"
    assert meta["threshold"]["column"] == "target"
    assert len(meta["conformal"]["quantiles"]) == 2
    assert set(meta["library_versions"]) >= {"tuneahead", "lightgbm", "numpy", "python"}
    assert (path / "regressor.txt").read_text().startswith("tree")


def test_round_trip_in_a_fresh_process_gives_identical_predictions(
    saved: tuple[Predictor, Path], runs: pd.DataFrame, tmp_path: Path
) -> None:
    p, path = saved
    rows = runs.head(40)
    rows_file = tmp_path / "rows.parquet"
    rows.to_parquet(rows_file)
    before = p.predict(rows)
    script = (
        "import json, sys, pandas as pd\n"
        "from tuneahead.predict import Predictor\n"
        "p = Predictor.load(sys.argv[1])\n"
        "fc = p.predict(pd.read_parquet(sys.argv[2]))\n"
        "print(json.dumps([f.to_dict() for f in fc]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path), str(rows_file)],
                         capture_output=True, text=True, check=True, timeout=120)
    after = json.loads(out.stdout)
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        assert a["metric"] == b.metric  # bit-identical, not approximately equal
        assert a["interval"] == list(b.interval)
        assert a["p_success"] == b.p_success and a["p_method"] == b.p_method
        assert a["contributions"] == b.contributions
        assert a["ood"] == b.ood


def test_loaded_predictor_keeps_everything(saved: tuple[Predictor, Path], runs: pd.DataFrame) -> None:
    p, path = saved
    q = Predictor.load(path)
    assert q.schema == p.schema and q.schema.version == p.schema.version
    assert q.p_method == p.p_method and q.rounds == p.rounds and q.bounds == p.bounds
    assert q.global_importance() == p.global_importance()  # JSON keeps floats exactly
    a, b = p.predict_arrays(runs), q.predict_arrays(runs)
    for key in ("metric", "lo", "hi", "p_success"):
        np.testing.assert_array_equal(a[key], b[key])


def test_schema_mismatch_on_load_names_the_missing_features(saved: tuple[Predictor, Path]) -> None:
    p, path = saved
    Predictor.load(path, expect_features=p.feature_names + ["extra"])
    with pytest.raises(SchemaMismatchError, match="probe_grad_norm"):
        Predictor.load(path, expect_features=[n for n in p.feature_names if n != "probe_grad_norm"])


def _copy(path: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in path.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


def test_tampered_or_foreign_files_are_refused(saved: tuple[Predictor, Path], tmp_path: Path) -> None:
    _, path = saved
    bad = _copy(path, tmp_path / "tampered")
    text = (bad / "regressor.txt").read_text()
    (bad / "regressor.txt").write_text(text.replace("learning_rate", "learning_rate ", 1))
    with pytest.raises(InputError, match="does not match"):
        Predictor.load(bad)

    old = _copy(path, tmp_path / "future")
    meta = json.loads((old / "predictor.json").read_text())
    meta["format_version"] = 99
    (old / "predictor.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="format version 99"):
        Predictor.load(old)

    with pytest.raises(InputError, match="no predictor.json"):
        Predictor.load(tmp_path / "nowhere")


def test_catalogue_unit_change_is_a_schema_mismatch(tmp_path: Path) -> None:
    from tuneahead.store.table import feature_info

    if feature_info("answer_cut_share").unit != "share":
        pytest.skip("the feature catalogue does not register answer_cut_share in this build")
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"answer_cut_share": rng.uniform(0, 1, 60), "other": rng.normal(size=60)})
    df["final_metric"] = 1 - df["answer_cut_share"]
    path = Predictor(n_estimators=20).fit(df, "final_metric").save(tmp_path / "p")
    meta = json.loads((path / "predictor.json").read_text())
    i = meta["schema"]["names"].index("answer_cut_share")
    meta["schema"]["units"][i] = "tokens"  # as if trained when the feature meant something else
    del meta["schema"]["version"]
    (path / "predictor.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaMismatchError, match="answer_cut_share"):
        Predictor.load(path)


def test_resave_removes_a_stale_classifier(runs: pd.DataFrame, tmp_path: Path) -> None:
    Predictor(n_estimators=30).fit(runs, threshold="target").save(tmp_path / "p")
    assert (tmp_path / "p" / "classifier.txt").exists()
    Predictor(n_estimators=30).fit(runs).save(tmp_path / "p")  # no threshold: no classifier
    assert not (tmp_path / "p" / "classifier.txt").exists()
    assert Predictor.load(tmp_path / "p").classifier is None


def test_linear_success_model_round_trips_as_json(runs: pd.DataFrame, tmp_path: Path) -> None:
    p = Predictor(n_estimators=60, p_method="linear").fit(runs, "final_metric", threshold="target", group_col="family")
    assert p.p_method == "linear"
    path = p.save(tmp_path / "pred")
    assert json.loads((path / "predictor.json").read_text())["p_success"]["linear"]["coef"]
    q = Predictor.load(path)
    np.testing.assert_array_equal(p.predict_arrays(runs)["p_success"], q.predict_arrays(runs)["p_success"])
    assert {f.p_method for f in q.predict(runs.head(3), explain=False)} == {"linear+" + q.calibrators["linear"].kind}


def _rehash(folder: Path, model: str) -> None:
    """Fix up the metadata's hash after editing a model file: only the file's structure can catch it now."""
    import hashlib

    meta_path = folder / "predictor.json"
    meta = json.loads(meta_path.read_text())
    meta["models"][model]["sha256"] = hashlib.sha256((folder / f"{model}.txt").read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


def test_metadata_without_a_training_summary_is_refused(saved: tuple[Predictor, Path], tmp_path: Path) -> None:
    folder = _copy(saved[1], tmp_path / "no-summary")
    meta = json.loads((folder / "predictor.json").read_text())
    meta["training_summary"] = None  # would silently switch the out-of-distribution check off
    (folder / "predictor.json").write_text(json.dumps(meta))
    with pytest.raises(InputError) as err:
        Predictor.load(folder)
    assert err.value.location.field == "training_summary"


@pytest.mark.parametrize("damage", ["garbage", "truncated-1", "truncated-5", "truncated-50", "truncated-98",
                                    "truncated-99", "bad-child", "bad-feature", "bad-size"])
def test_a_damaged_model_file_with_a_fixed_hash_is_an_input_error(
    saved: tuple[Predictor, Path], tmp_path: Path, damage: str
) -> None:
    """Checked before LightGBM parses it (a damaged file can abort LightGBM's parser, and the process)."""
    folder = _copy(saved[1], tmp_path / damage)
    model = folder / "regressor.txt"
    text = model.read_text()
    if damage == "garbage":
        text = "tree\nversion=v4\n" + "x" * 500
    elif damage.startswith("truncated"):
        text = text[: len(text) * int(damage.split("-")[1]) // 100]
    elif damage == "bad-child":
        text = text.replace("\nleft_child=", "\nleft_child=9999 ", 1)
    elif damage == "bad-feature":
        text = text.replace("\nsplit_feature=", "\nsplit_feature=9999 ", 1)
    else:
        text = text.replace("\ntree_sizes=", "\ntree_sizes=7 ", 1)
    model.write_text(text)
    _rehash(folder, "regressor")
    # In a child process: were the check to miss, an abort would not take the test runner with it.
    code = (
        "import sys\nfrom tuneahead.predict import Predictor\nfrom tuneahead.errors import InputError\n"
        f"try:\n    Predictor.load({str(folder)!r})\nexcept InputError as e:\n    print(e); sys.exit(4)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, (done.returncode, done.stderr[-400:])
    assert "regressor.txt" in done.stdout
