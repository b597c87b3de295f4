"""`describe`: data-only analysis — static descriptors and pitfall findings, no model run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import tuneahead.data.descriptors  # noqa: F401  (registers the static descriptors computed below)
from tuneahead.data.example import Example
from tuneahead.data.findings import Finding, find_pitfalls, finding_count_features
from tuneahead.data.load import IngestReport
from tuneahead.data.render import resolve_template
from tuneahead.data.stats import DatasetStats, gather_stats
from tuneahead.errors import InputError
from tuneahead.models.tokenizer import TokenizerBundle, resolve_tokenizer
from tuneahead.paths import PathLike
from tuneahead.recipe.model import Recipe

# (model, sample examples, tokenizer, template, max length) -> (perplexity, mean loss) of the base model on the
# answers: `tuneahead.probe.perplexity.completion_perplexity`, passed in by a caller above the probe floor.
PerplexityFn = Callable[[str, list[Example], TokenizerBundle, str, int], tuple[float, float]]


@dataclass
class DescribeResult:
    descriptors: dict[str, float]
    findings: list[Finding]
    tokenizer: dict[str, object]
    tokenizer_note: str | None
    train_report: IngestReport
    eval_report: IngestReport | None
    max_seq_length: int
    max_seq_length_source: str  # "recipe" or "default"
    loss_on: str
    recipe: Recipe | None
    recipe_warnings: list[str]
    seconds: float
    stats: DatasetStats = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        from tuneahead.features.catalogue import spec

        return {
            "descriptors": {
                name: {"value": value, "unit": spec(name).unit, "group": spec(name).group}
                for name, value in self.descriptors.items()
            },
            "findings": [f.to_dict() for f in self.findings],
            "tokenizer": {**self.tokenizer, "note": self.tokenizer_note},
            "data": _report_dict(self.train_report),
            "eval_data": _report_dict(self.eval_report) if self.eval_report is not None else None,
            "max_seq_length": self.max_seq_length,
            "max_seq_length_source": self.max_seq_length_source,
            "loss_on": self.loss_on,
            "recipe": self.recipe.model_dump(mode="json") if self.recipe else None,
            "recipe_warnings": self.recipe_warnings,
            "seconds": round(self.seconds, 3),
        }


def _report_dict(report: IngestReport) -> dict[str, object]:
    return report.to_dict()


def _paths(explicit: Sequence[PathLike] | PathLike | None, from_recipe: list) -> list:
    """The user's paths, else the recipe's datasets themselves (each with its path and split)."""
    if explicit:
        return [str(p) for p in ([explicit] if isinstance(explicit, str | os.PathLike) else explicit)]
    return list(from_recipe)


# Findings whose facts come from the tokenizer: with a stand-in tokenizer they describe the stand-in.
TOKENIZER_FINDINGS = frozenset({
    "truncation", "missing_eos", "pad_equals_eos", "chat_template_missing", "assistant_mask_needs_generation_tags",
    "no_label_tokens", "template_drops_turns",
})


def _from_stand_in(finding: Finding) -> Finding:
    if finding.code not in TOKENIZER_FINDINGS:
        return finding
    from dataclasses import replace

    return replace(finding, evidence=finding.evidence + " (Measured with the stand-in tokenizer, not the model's "
                   "own: put the model, or its tokenizer, on disk for its figures.)")


def describe(
    data: Sequence[PathLike] | PathLike | None = None,
    *,
    eval_data: Sequence[PathLike] | PathLike | None = None,
    recipe: Recipe | None = None,
    tokenizer: str | None = None,
    model: str | None = None,
    data_format: str = "auto",
    skip_invalid: bool = False,
    base_perplexity: PerplexityFn | None = None,
    progress: Callable[[int], None] | None = None,
) -> DescribeResult:
    """Describe a training set (and optional eval set) under an optional recipe.

    Paths default to the recipe's datasets; the tokenizer to the recipe model's own when it is on
    disk, else the bundled default (the result says which). Nothing is downloaded.
    """
    from tuneahead.data.load import IngestReport, iter_examples

    train_paths = _paths(data, recipe.datasets if recipe else [])
    if not train_paths:
        raise InputError("no training data given", hint="pass --data FILE (or list datasets in the recipe)")
    eval_paths = _paths(eval_data, recipe.eval_datasets if recipe else [])
    model_ref = model or (recipe.base_model if recipe else None)
    bundle, note = resolve_tokenizer(tokenizer=tokenizer or (recipe.tokenizer if recipe else None), model=model_ref)
    train_report = IngestReport()
    eval_report = IngestReport() if eval_paths else None
    return describe_examples(
        iter_examples(train_paths, format=data_format, skip_invalid=skip_invalid, report=train_report),
        eval_examples=(
            iter_examples(eval_paths, format="auto", skip_invalid=skip_invalid, report=eval_report)
            if eval_paths and eval_report is not None
            else None
        ),
        bundle=bundle,
        tokenizer_note=note,
        recipe=recipe,
        model=model_ref,
        train_report=train_report,
        eval_report=eval_report,
        base_perplexity=base_perplexity,
        progress=progress,
    )


def describe_examples(
    train_examples: Iterable[Example],
    *,
    bundle: TokenizerBundle,
    eval_examples: Iterable[Example] | None = None,
    tokenizer_note: str | None = None,
    recipe: Recipe | None = None,
    model: str | None = None,
    train_report: IngestReport | None = None,
    eval_report: IngestReport | None = None,
    base_perplexity: PerplexityFn | None = None,
    progress: Callable[[int], None] | None = None,
) -> DescribeResult:
    """Describe examples already in hand (a trainer's dataset rows, normalised) with a given tokenizer.

    `model`: the base model's reference, for its config (size, context) and the base perplexity.
    """
    from tuneahead.models.config import model_config
    from tuneahead.recipe.diagnostics import recipe_warnings

    started = time.perf_counter()
    train_report = train_report if train_report is not None else IngestReport()
    model_ref = model or (recipe.base_model if recipe else None)
    recipe_template = recipe.chat_template if recipe else None
    template = resolve_template(bundle, recipe_template)
    max_len = recipe.max_seq_length if recipe else Recipe.model_fields["max_seq_length"].default
    loss_on = recipe.loss_on if recipe else "completion"
    stats = gather_stats(
        train_examples,
        bundle=bundle,
        template=template,
        template_from_user_or_model=bool(recipe_template or bundle.chat_template),
        max_seq_length=max_len,
        loss_on=loss_on,
        eval_examples=eval_examples,
        seed=recipe.seed if recipe else 0,
        progress=progress,
    )
    stats.recipe = recipe
    stats.model_config = model_config(model_ref)
    if base_perplexity is not None and model_ref:
        stats.base_perplexity = base_perplexity(model_ref, stats.sample_examples, bundle, template, max_len)

    from tuneahead.features.catalogue import compute_all

    descriptors = compute_all("static", stats)
    findings = find_pitfalls(stats, descriptors)
    if tokenizer_note is not None:
        findings = [_from_stand_in(f) for f in findings]
    descriptors.update(finding_count_features(f.severity for f in findings))
    return DescribeResult(
        descriptors=descriptors,
        findings=findings,
        tokenizer=bundle.describe(),
        tokenizer_note=tokenizer_note,
        train_report=train_report,
        eval_report=eval_report,
        max_seq_length=max_len,
        max_seq_length_source="recipe" if recipe else "default",
        loss_on=loss_on,
        recipe=recipe,
        recipe_warnings=recipe_warnings(recipe) if recipe else [],
        seconds=time.perf_counter() - started,
        stats=stats,
    )
