"""Findings on real-looking data: answer skew against the label mix, no near duplicates in templated rows."""

from __future__ import annotations

import json
import random

import pytest

from tuneahead.data.describe import describe
from tuneahead.data.findings import skew_bounds


def test_bounds_follow_the_number_of_answers() -> None:
    assert skew_bounds(2) == pytest.approx((0.7, 0.85))
    warn3, error3 = skew_bounds(3)
    assert warn3 == pytest.approx(1 / 3 + 0.4 * 2 / 3) and error3 == pytest.approx(1 / 3 + 0.7 * 2 / 3)
    assert skew_bounds(20)[0] == pytest.approx(0.5)  # 5 % + 40 % of the way is 43 %: the floor holds
    assert skew_bounds(1000)[0] >= 0.5


def _binary_rows(n: int, positive_share: float, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "positive" if i < positive_share * n else "negative"
        words = " ".join(rng.choice(["good", "bad", "fine", "poor", "nice", "dull"]) for _ in range(6))
        rows.append({"messages": [{"role": "user", "content": f"Review {i}: {words}"},
                                  {"role": "assistant", "content": label}]})
    return rows


@pytest.mark.parametrize(("share", "expected"), [(0.52, None), (0.75, "warning"), (0.9, "error")])
def test_binary_labels(tmp_path, share: float, expected: str | None) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _binary_rows(400, share)))
    found = [f for f in describe(path, model="tiny-0.2m").findings if f.code == "answer_skew"]
    assert (found[0].severity if found else None) == expected


def test_templated_short_rows_are_not_near_duplicates(tmp_path) -> None:
    """Distinct dates in one template share most character shingles; they are not duplicates or leaks."""
    import datetime as dt

    def row(day: dt.date) -> dict:
        return {"messages": [{"role": "user", "content": f"Convert {day.isoformat()} to DD/MM/YYYY."},
                             {"role": "assistant", "content": day.strftime("%d/%m/%Y")}]}

    start = dt.date(2000, 1, 1)
    days = [start + dt.timedelta(days=3 * i) for i in range(700)]
    train, evals = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    train.write_text("".join(json.dumps(row(d)) + "\n" for d in days[:600]))
    evals.write_text("".join(json.dumps(row(d)) + "\n" for d in days[600:]))
    result = describe(train, eval_data=evals, model="tiny-0.2m")
    assert result.descriptors["near_duplicate_share"] == 0.0
    assert result.descriptors["eval_near_leak_share"] == 0.0
    assert "eval_leakage" not in {f.code for f in result.findings}
