"""The `check --html` report: one self-contained page (inline SVG and CSS, no script, no network).

Sections: the verdict and forecast, the SHAP waterfall of the forecast (shap's own plot), the probe's
training loss and gradient-norm curves, the token-length histogram against the context window, the
pitfall findings with their fixes, and the costs of the full run and of the check itself.
"""

from __future__ import annotations

import html
import io
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead.formatting import gpu_time, pct
from tuneahead.report.check_view import cut_offs_text


if TYPE_CHECKING:
    from tuneahead.gate.run import Verdict

_COLOURS = {"GO": "#1a7f37", "NO-GO": "#cf222e", "UNCERTAIN": "#9a6700"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 62rem;
       color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
       border-bottom: 1px solid #d0d7de; padding-bottom: 0.2rem; }
.verdict { display: inline-block; color: white; font-weight: 700; font-size: 1.6rem; padding: 0.3rem 1rem;
       border-radius: 0.4rem; }
.muted { color: #59636e; } .small { font-size: 0.88rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; }
.sev-error { color: #cf222e; font-weight: 600; } .sev-warning { color: #9a6700; font-weight: 600; }
.sev-info { color: #59636e; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; } .plots figure { margin: 0; flex: 1 1 28rem; }
svg { max-width: 100%; height: auto; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.5rem 0.8rem; border-radius: 0.3rem; }
"""


def write_check_html(verdict: Verdict, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_check_html(verdict), encoding="utf-8")
    return out


def render_check_html(verdict: Verdict) -> str:
    e = html.escape
    v = verdict
    colour = _COLOURS.get(v.decision.value, "#59636e")
    lo, hi = v.interval
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>TuneAhead check: {e(v.decision.value)}</title><style>{_CSS}</style></head><body>",
        "<h1>TuneAhead check</h1>",
        f'<p class="muted small">{e(v.recipe.base_model)} · {e(_adapter(v.recipe))} · target {e(str(v.target))}</p>',
        f'<p><span class="verdict" style="background:{colour}">{e(v.decision.value)}</span></p>',
        f"<p><b>P(success)</b> {pct(v.p_success)} · <b>forecast</b> {_num(v.forecast)} "
        f"({v.coverage:.0%} interval {_num(lo)}–{_num(hi)}) · <b>target</b> {v.target.value:g}</p>",
        f"<p class=\"muted\">{e(v.why)}.</p>",
        f'<p class="muted small">Cut-offs: {e(cut_offs_text(v.cut_offs))}</p>',
        f'<p class="muted small">Predictability: {e(v.regime.name)} ({e(v.regime.why)})</p>',
    ]
    for note in v.notes:
        parts.append(f'<p class="note small">{e(note)}</p>')
    if v.ood_reasons:
        items = "".join(f"<li>{e(r)}</li>" for r in v.ood_reasons[:8])
        parts.append(f"<details><summary>Outside the training data ({len(v.ood_reasons)})</summary><ul>{items}</ul></details>")

    parts.append("<h2>Why</h2>")
    if v.rule:
        parts.append(f'<p class="muted">A rule decided this verdict ({e(v.why)}); the predictor alone said '
                     f"P(success) {pct(v.p_model)}, explained below.</p>")
    of_p = v.explains == "p_success"
    if v.reasons:
        rows = "".join(
            f"<tr><td>{e(r.text)}</td><td>{r.contribution:+.3f}</td></tr>" for r in v.reasons[:8]
        )
        push = "push on the log-odds of success" if of_p else "push on the forecast"
        parts.append(f"<table><tr><th>reason</th><th>{push}</th></tr>{rows}</table>")
    caption = (
        "SHAP waterfall of P(success), in log-odds before calibration: from the average run's to this run's, "
        "feature by feature." if of_p else
        "SHAP waterfall: from the average run to this forecast, feature by feature."
    )
    parts.append(f"<figure>{_waterfall_svg(v)}<figcaption class='muted small'>{caption}</figcaption></figure>")

    parts.append("<h2>Probe</h2>")
    stages = "".join(
        f"<tr><td>{e(s.name)}</td><td>{s.steps}</td><td>{s.seconds:.1f} s</td><td>{pct(s.probe_share, 2)}</td>"
        f"<td>{_num(s.metric)}</td><td>{pct(s.p_success)}</td><td>{e(s.decision)}</td></tr>"
        for s in v.stages
    )
    parts.append(
        "<table><tr><th>stage</th><th>steps</th><th>time</th><th>share of full run</th><th>forecast</th>"
        f"<th>P(success)</th><th>verdict</th></tr>{stages}</table>"
    )
    parts.append(f'<div class="plots"><figure>{_curves_svg(v)}</figure><figure>{_lengths_svg(v)}</figure></div>')

    parts.append("<h2>Findings</h2>")
    if v.findings:
        rows = "".join(
            f'<tr><td class="sev-{e(f.severity)}">{e(f.severity)}</td><td><b>{e(f.title)}</b><br>'
            f'<span class="small">{e(f.evidence)}</span></td><td class="small">{e(f.fix)}</td></tr>'
            for f in v.findings
        )
        parts.append(f"<table><tr><th>severity</th><th>finding</th><th>fix</th></tr>{rows}</table>")
    else:
        parts.append("<p>No pitfalls found.</p>")

    parts.append("<h2>Cost</h2>")
    c = v.cost
    money = (f"US${c.full_usd:,.2f} at US${c.usd_per_gpu_hour:g}/GPU-hour" if c.full_usd is not None
             else "pass --price to see it in money")
    share = v.check_flops / c.full_flops if c.full_flops else math.nan
    parts.append(
        "<table>"
        f"<tr><th>full run</th><td>{c.full_steps:,} steps, {c.full_tokens:,.0f} tokens, {c.full_flops:.3g} FLOPs</td></tr>"
        f"<tr><th>on {e(c.accelerator)}</th><td>{e(gpu_time(c.full_gpu_hours))} at {c.mfu:.0%} MFU · {e(money)}</td></tr>"
        f"<tr><th>on this machine</th><td>{_duration(c.full_seconds_local)} at the probe's measured speed</td></tr>"
        f"<tr><th>this check</th><td>{v.check_seconds:.1f} s, {v.check_flops:.3g} FLOPs "
        f"({pct(share, 2)} of the full run)</td></tr>"
        "</table>"
    )
    parts.append(
        f'<p class="muted small">Predictor: {e(str(v.predictor.get("source")))}'
        f'{" — " + e(v.predictor["trained_on"]) if v.predictor.get("trained_on") else ""}.</p>'
    )
    parts.append("</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------- plots (inline SVG)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buf.getvalue()
    text = text[text.find("<svg"):]  # drop the XML prolog and DOCTYPE: not allowed inside HTML
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)  # RDF credits: nothing a reader needs


def _waterfall_svg(v: Verdict) -> str:
    if not v.contributions or not math.isfinite(v.base_value):
        return "<p class='muted'>No explanation available.</p>"
    from tuneahead.predict.plots import _shap

    shap = _shap()
    plt = _pyplot()
    names = list(v.contributions)
    values = np.array([v.contributions[n] for n in names])
    data = np.array([v.features.get(n, math.nan) for n in names], dtype=float)
    expl = shap.Explanation(values=values, base_values=v.base_value, data=data, feature_names=names)
    plt.figure()
    shap.plots.waterfall(expl, max_display=10, show=False)
    return _svg(plt.gcf())


def _curves_svg(v: Verdict) -> str:
    plt = _pyplot()
    trace = v.probe.trace
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
    steps = [r.step for r in trace]
    ax1.plot(steps, [r.loss for r in trace], label="train", color="#0969da")
    ev = [(p.step, p.loss) for p in v.probe.eval_points if math.isfinite(p.loss)]
    if ev:
        ax1.plot(*zip(*ev), "o-", label="held-out", color="#bf3989")
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss (nats/token)")
    ax1.legend(frameon=False)
    ax1.set_title("probe loss", fontsize=10)
    ax2.plot(steps, [r.grad_norm for r in trace], color="#1a7f37")
    if v.recipe.max_grad_norm is not None:
        ax2.axhline(v.recipe.max_grad_norm, ls="--", color="#59636e", lw=1, label="clip")
        ax2.legend(frameon=False)
    ax2.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_title("gradient norm (before clipping)", fontsize=10)
    fig.tight_layout()
    return _svg(fig)


def _lengths_svg(v: Verdict) -> str:
    lengths = v.described.stats.train.lengths.get("total")
    if lengths is None or len(lengths) == 0:
        return "<p class='muted'>No token lengths.</p>"
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3))
    max_len = v.described.max_seq_length
    # A few very long rows would squash the histogram: longer rows go into the last bin, counted in the legend.
    top = max(max_len * 1.5, float(np.quantile(lengths, 0.99)) * 1.1)
    over = int(np.sum(lengths > top))
    ax.hist(np.minimum(lengths, top), bins=40, range=(0, top), color="#0969da", alpha=0.8)
    ax.axvline(max_len, color="#cf222e", ls="--", label=f"max length {max_len}")
    if over:
        ax.plot([], [], " ", label=f"{over} longer than {top:.0f} (last bin)")
    ax.set_xlabel("tokens per example (rendered)")
    ax.set_ylabel("examples")
    ax.legend(frameon=False)
    ax.set_title("example length vs context window", fontsize=10)
    fig.tight_layout()
    return _svg(fig)


# ---------------------------------------------------------------- small formatting helpers


def _adapter(recipe: Any) -> str:
    a = recipe.adapter
    return "full fine-tune" if a.is_full else f"{a.type} r={a.rank}"


def _num(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "–"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
