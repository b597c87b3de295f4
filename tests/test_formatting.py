"""Numbers as reports show them."""

from __future__ import annotations


def test_accelerator_time_reads_in_the_unit_a_person_uses() -> None:
    from tuneahead.formatting import gpu_time

    assert gpu_time(2.19e-06) == "0.0079 s"  # the demo's full run: not "2.19e-06 GPU-hours"
    assert gpu_time(12 / 3600) == "12 s" and gpu_time(0.2) == "12 min"
    assert gpu_time(3.46) == "3.5 GPU-hours" and gpu_time(1234.0) == "1,234 GPU-hours"
    assert gpu_time(float("nan")) == "–"
