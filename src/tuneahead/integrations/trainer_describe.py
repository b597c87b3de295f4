"""Static descriptors for a live run: from the raw files the user names, else from the trainer's own rows.

A plain `Trainer` holds token ids only; TRL's `SFTTrainer` keeps the conversations beside them, and those
are described with the trainer's own tokenizer through the same `describe` code as `tuneahead describe`.
Describing is advisory inside someone else's run: a row it cannot read becomes a note, never an exception
that stops their training (data the user names explicitly is checked as strictly as anywhere else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuneahead.paths import PathLike


@dataclass
class TrainerDescription:
    descriptors: dict[str, float] = field(default_factory=dict)
    findings: list[Any] = field(default_factory=list)  # data.findings.Finding
    notes: list[str] = field(default_factory=list)


def first_rows(dataset: Any, n: int = 64) -> list[Mapping[str, Any]]:
    """Up to `n` rows of a map-style dataset (none of an iterable one)."""
    if dataset is None:
        return []
    try:
        return [dataset[i] for i in range(min(n, len(dataset)))]
    except (TypeError, IndexError, KeyError):
        return []


def describe_for_trainer(
    recipe: Any,
    *,
    data: Sequence[PathLike] | PathLike | None,
    eval_data: Sequence[PathLike] | PathLike | None,
    train_rows: Any,
    eval_rows: Any,
    tokenizer: Any,
) -> TrainerDescription:
    """Descriptors and findings of the run's data (`data` files first, else the trainer's rows)."""
    if data is not None:
        from tuneahead.data.describe import describe

        described = describe(data, eval_data=eval_data, recipe=recipe)
        return TrainerDescription(dict(described.descriptors), list(described.findings))
    from tuneahead.data.formats import detect_format

    first = first_rows(train_rows, 1)
    if not first or detect_format(first[0]) is None or tokenizer is None:
        return TrainerDescription(notes=[
            "the trainer's dataset holds no text in a known format (messages, prompt/completion, ...) and no "
            "raw data was given (data=...): the verdict rests on the recipe and the probe, without the static "
            "descriptors and data findings"
        ])
    from tuneahead.data.describe import describe_examples
    from tuneahead.data.load import examples_from_rows
    from tuneahead.errors import TuneAheadError
    from tuneahead.models.tokenizer import bundle_from_hf

    first_eval = first_rows(eval_rows, 1)
    evals = eval_rows if first_eval and detect_format(first_eval[0]) is not None else None
    try:
        described = describe_examples(
            examples_from_rows(train_rows, "train_dataset"),
            eval_examples=examples_from_rows(evals, "eval_dataset") if evals is not None else None,
            bundle=bundle_from_hf(tokenizer),
            recipe=recipe,
        )
    except TuneAheadError as exc:
        return TrainerDescription(notes=[f"static descriptors skipped: {exc}"])
    return TrainerDescription(dict(described.descriptors), list(described.findings),
                              ["static descriptors from the trainer's own dataset rows and tokenizer"])
