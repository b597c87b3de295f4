"""SHAP plots of a predictor's forecasts (shap's own waterfall, beeswarm and bar), as PNG and SVG.

shap draws through pyplot, so plotting switches matplotlib to the non-interactive Agg backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuneahead.predict.predictor import Predictor

FORMATS: tuple[str, ...] = ("png", "svg")


def _shap() -> Any:
    import warnings

    with warnings.catch_warnings():
        # shap's colour maps use matplotlib calls that are pending deprecation; not ours to fix.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap
    return shap


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, stem: Path, title: str | None) -> list[Path]:
    fig = plt.gcf()
    if title:
        fig.suptitle(title, fontsize=11)
    paths = []
    stem.parent.mkdir(parents=True, exist_ok=True)
    for fmt in FORMATS:
        path = stem.with_suffix(f".{fmt}")
        # No date in the SVG metadata, so the same plot gives the same file.
        meta = {"Date": None} if fmt == "svg" else None
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata=meta)
        paths.append(path)
    plt.close(fig)
    return paths


def waterfall(predictor: Predictor, row: Any, stem: str | Path, *, max_display: int = 10, title: str | None = None) -> list[Path]:
    """Waterfall of one run's forecast: from the average run to this one, feature by feature."""
    shap = _shap()
    plt = _pyplot()
    expl = predictor.explanation(row)
    if expl.values.shape[0] != 1:
        raise ValueError("waterfall explains exactly one run")
    plt.figure()
    shap.plots.waterfall(expl[0], max_display=max_display, show=False)
    return _save(plt, Path(stem), title)


def beeswarm(predictor: Predictor, rows: Any, stem: str | Path, *, max_display: int = 15, title: str | None = None) -> list[Path]:
    """Beeswarm of many runs: each dot one run, position its SHAP value, colour its feature value."""
    shap = _shap()
    plt = _pyplot()
    plt.figure()
    shap.plots.beeswarm(predictor.explanation(rows), max_display=max_display, show=False)
    return _save(plt, Path(stem), title)


def bar(predictor: Predictor, rows: Any, stem: str | Path, *, max_display: int = 15, title: str | None = None) -> list[Path]:
    """Global importance: mean |SHAP| per feature over `rows`."""
    shap = _shap()
    plt = _pyplot()
    plt.figure()
    shap.plots.bar(predictor.explanation(rows), max_display=max_display, show=False)
    return _save(plt, Path(stem), title)


def summary_plots(predictor: Predictor, rows: Any, out_dir: str | Path) -> list[Path]:
    """Beeswarm + bar plots over `rows` into `out_dir` (shap_beeswarm.*, shap_bar.*)."""
    out = Path(out_dir)
    target = predictor.target or "target"
    return [
        *beeswarm(predictor, rows, out / "shap_beeswarm", title=f"What drives the forecast of {target}"),
        *bar(predictor, rows, out / "shap_bar", title=f"Mean |SHAP| on {target}"),
    ]
