"""Probe features measured against the data: what the probe achieved beyond what guessing gets.

A probe's held-out exact match means little on its own: on a two-answer task, always giving the commonest
answer already scores about 50 %, so a probe at 50 % has learnt nothing yet, while on a task whose answers
are all different 50 % is a lot. These features need a data descriptor as well as the probe's trace, so they
are computed where both meet: the gate's check, the run-table export, and the longer probe's features.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tuneahead.features.catalogue import derived_feature

OVER_MAJORITY = "probe_eval_accuracy_over_majority"
derived_feature(
    OVER_MAJORITY, kind="dynamic", group="accuracy", unit="share",
    meaning="share of held-out answers the probed model reproduces exactly, minus the share of training "
    "examples with the commonest answer (what always giving that answer would score; 0: no better)",
)


def relative_features(static: Mapping[str, float], dynamic: Mapping[str, float]) -> dict[str, float]:
    """The probe features that are relative to the data, from a run's static and dynamic features.

    A feature whose inputs were never measured (a run history without them) is left out, not NaN, so a
    run table does not grow an empty column; inputs measured as NaN give NaN.
    """
    if "probe_eval_sequence_accuracy" not in dynamic or "majority_answer_share" not in static:
        return {}
    accuracy, guess = dynamic["probe_eval_sequence_accuracy"], static["majority_answer_share"]
    ok = accuracy is not None and guess is not None and math.isfinite(accuracy) and math.isfinite(guess)
    return {OVER_MAJORITY: accuracy - guess if ok else math.nan}
