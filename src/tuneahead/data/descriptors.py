"""Static descriptors: named numbers about the data, the eval set, the tokenizer and the recipe.

Each is a small pure function of `DatasetStats`, registered in the feature catalogue with its unit
and meaning. NaN means "not computable here" (no eval set, no recipe, no local model), which the
predictor treats as missing, never as zero.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from tuneahead.data.stats import DatasetStats
from tuneahead.features.catalogue import NAN, feature

_WORD = re.compile(r"\w+")


def _static(name: str, group: str, unit: str, meaning: str):
    return feature(name, kind="static", group=group, unit=unit, meaning=meaning)


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else NAN


def _prompt_tokens(s: DatasetStats) -> np.ndarray:
    lengths = s.train.lengths
    return lengths["total"] - lengths["completion"]


def _share(count: float, total: float) -> float:
    return count / total if total else NAN


# ---------------------------------------------------------------- size


@_static("n_examples", "size", "count", "training examples after ingestion")
def n_examples(s: DatasetStats) -> float:
    return s.train.n


@_static("n_tokens", "size", "tokens", "training tokens after rendering with the chat template (before truncation)")
def n_tokens(s: DatasetStats) -> float:
    return float(s.train.lengths["total"].sum())


@_static("n_completion_tokens", "size", "tokens", "answer (assistant/completion) tokens in the training set")
def n_completion_tokens(s: DatasetStats) -> float:
    return float(s.train.lengths["completion"].sum())


@_static("eval_n_examples", "size", "count", "examples in the user's eval set (NaN: no eval set)")
def eval_n_examples(s: DatasetStats) -> float:
    return s.eval.n if s.eval else NAN


# ---------------------------------------------------------------- lengths


def _length_features(part: str) -> None:
    def values(s: DatasetStats) -> np.ndarray:
        return _prompt_tokens(s) if part == "prompt" else s.train.lengths["completion"]

    what = "prompt (everything but the answers, template included)" if part == "prompt" else "answer"
    for stat, fn in (
        ("mean", lambda v: float(v.mean()) if v.size else NAN),
        ("p50", lambda v: _percentile(v, 50)),
        ("p95", lambda v: _percentile(v, 95)),
        ("max", lambda v: float(v.max()) if v.size else NAN),
    ):
        _static(f"{part}_tokens_{stat}", "length", "tokens", f"{stat} of {what} tokens per example")(
            lambda s, fn=fn: fn(values(s))
        )


_length_features("prompt")
_length_features("completion")


@_static("sequence_tokens_p95", "length", "tokens", "95th percentile of full rendered sequence length")
def sequence_tokens_p95(s: DatasetStats) -> float:
    return _percentile(s.train.lengths["total"], 95)


@_static("max_len_over_p95", "length", "ratio", "recipe max sequence length / 95th percentile sequence length")
def max_len_over_p95(s: DatasetStats) -> float:
    return s.max_seq_length / sequence_tokens_p95(s)


# ---------------------------------------------------------------- truncation


@_static("truncated_example_share", "truncation", "share", "examples longer than the recipe's max sequence length")
def truncated_example_share(s: DatasetStats) -> float:
    return float((s.train.lengths["total"] > s.max_seq_length).mean()) if s.train.n else NAN


@_static("answer_cut_share", "truncation", "share", "examples whose answer loses at least one token to truncation")
def answer_cut_share(s: DatasetStats) -> float:
    L = s.train.lengths
    return float((L["completion_kept"] < L["completion"]).mean()) if s.train.n else NAN


@_static("answer_lost_share", "truncation", "share", "examples whose answer is cut off entirely (no answer token left)")
def answer_lost_share(s: DatasetStats) -> float:
    L = s.train.lengths
    return float(((L["completion_kept"] == 0) & (L["completion"] > 0)).mean()) if s.train.n else NAN


@_static("completion_tokens_truncated_share", "truncation", "share", "answer tokens beyond the max sequence length")
def completion_tokens_truncated_share(s: DatasetStats) -> float:
    L = s.train.lengths
    return 1.0 - _share(float(L["completion_kept"].sum()), float(L["completion"].sum()))


@_static("eval_answer_cut_share", "truncation", "share", "eval examples whose answer is cut by the max length")
def eval_answer_cut_share(s: DatasetStats) -> float:
    if not s.eval or not s.eval.n:
        return NAN
    L = s.eval.lengths
    return float((L["completion_kept"] < L["completion"]).mean())


# ---------------------------------------------------------------- loss masking


@_static("loss_token_share", "loss", "share", "tokens (within max length) that carry loss")
def loss_token_share(s: DatasetStats) -> float:
    L = s.train.lengths
    kept = np.minimum(L["total"], s.max_seq_length)
    return _share(float(L["loss_kept"].sum()), float(kept.sum()))


@_static("prompt_loss_share", "loss", "share", "loss-bearing tokens that are prompt, not answer (loss on inputs)")
def prompt_loss_share(s: DatasetStats) -> float:
    L = s.train.lengths
    loss = float(L["loss_kept"].sum())
    return _share(loss - float(np.minimum(L["completion_kept"], L["loss_kept"]).sum()), loss)


@_static("no_label_example_share", "loss", "share", "examples with no loss-bearing token left after truncation")
def no_label_example_share(s: DatasetStats) -> float:
    return float((s.train.lengths["loss_kept"] == 0).mean()) if s.train.n else NAN


@_static("eos_target_share", "template", "share", "examples whose trained tokens include EOS (the model learns to stop)")
def eos_target_share(s: DatasetStats) -> float:
    return float(s.train.lengths["eos_target"].mean()) if s.train.n else NAN


# ---------------------------------------------------------------- duplication


@_static("exact_duplicate_share", "duplication", "share", "examples identical (normalised) to an earlier one")
def exact_duplicate_share(s: DatasetStats) -> float:
    return _share(s.exact_dup_count, s.train.n)


@_static(
    "near_duplicate_share", "duplication", "share",
    "examples near-identical (MinHash Jaccard >= 0.8) to an earlier one, exact copies excluded",
)
def near_duplicate_share(s: DatasetStats) -> float:
    return _share(s.near_dup_count, s.train.n)


@_static("duplicate_prompt_share", "duplication", "share", "examples whose prompt occurs more than once")
def duplicate_prompt_share(s: DatasetStats) -> float:
    return _share(s.dup_prompt_count, s.train.n)


@_static("conflicting_answer_share", "duplication", "share", "examples whose prompt occurs elsewhere with a different answer")
def conflicting_answer_share(s: DatasetStats) -> float:
    return _share(s.conflict_count, s.train.n)


# ---------------------------------------------------------------- leakage (needs an eval set)


def _eval_share(s: DatasetStats, indices: list[int]) -> float:
    return _share(len(indices), s.eval.n) if s.eval else NAN


@_static("eval_exact_leak_share", "leakage", "share", "eval examples found verbatim (normalised) in train")
def eval_exact_leak_share(s: DatasetStats) -> float:
    return _eval_share(s, s.eval_exact_leaks)


@_static("eval_near_leak_share", "leakage", "share", "eval examples with an exact or near duplicate in train")
def eval_near_leak_share(s: DatasetStats) -> float:
    return _eval_share(s, s.eval_near_leaks)


@_static("eval_prompt_leak_share", "leakage", "share", "eval prompts that also occur in train (any answer)")
def eval_prompt_leak_share(s: DatasetStats) -> float:
    return _eval_share(s, s.eval_prompt_leaks)


@_static("eval_ngram_leak_share", "leakage", "share", "eval examples with >= 90 % of their 8-word n-grams in train")
def eval_ngram_leak_share(s: DatasetStats) -> float:
    return _eval_share(s, s.eval_ngram_leaks)


@_static("eval_ngram_overlap_mean", "leakage", "share", "mean share of an eval example's 8-word n-grams found in train")
def eval_ngram_overlap_mean(s: DatasetStats) -> float:
    return float(np.mean(s.eval_ngram_overlap)) if s.eval and s.eval_ngram_overlap else NAN


# ---------------------------------------------------------------- answer skew


@_static("distinct_answers", "skew", "count", "distinct (normalised) answers")
def distinct_answers(s: DatasetStats) -> float:
    return len(s.answer_counts)


@_static("distinct_answer_share", "skew", "share", "distinct answers / examples (low: a classification-like task)")
def distinct_answer_share(s: DatasetStats) -> float:
    return _share(len(s.answer_counts), s.train.n)


@_static("majority_answer_share", "skew", "share", "share of examples whose answer is the most common one")
def majority_answer_share(s: DatasetStats) -> float:
    return _share(max(s.answer_counts.values(), default=0), s.train.n)


@_static("answer_entropy_norm", "skew", "ratio", "entropy of the answer distribution / log(distinct answers); 1 = uniform")
def answer_entropy_norm(s: DatasetStats) -> float:
    counts = np.fromiter(s.answer_counts.values(), dtype=np.float64)
    if counts.size < 2:
        return 0.0 if counts.size == 1 else NAN
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum() / math.log(counts.size))


# ---------------------------------------------------------------- lexical diversity (reservoir sample)


def _words(texts: list[str]) -> list[str]:
    return [w for t in texts for w in _WORD.findall(t.lower())]


@_static("answer_mattr", "diversity", "ratio", "moving-average type/token ratio of answer words (window 50)")
def answer_mattr(s: DatasetStats) -> float:
    words = _words(s.sample_completions)
    window = 50
    if len(words) < window:
        return len(set(words)) / len(words) if words else NAN
    # Windows at a stride of 25 words: unbiased enough and linear time.
    ratios = [len(set(words[i : i + window])) / window for i in range(0, len(words) - window + 1, 25)]
    return float(np.mean(ratios))


@_static("distinct_bigram_share", "diversity", "share", "distinct word bigrams / all bigrams in sampled examples")
def distinct_bigram_share(s: DatasetStats) -> float:
    words = _words(s.sample_texts)
    bigrams = list(zip(words, words[1:]))
    return _share(len(set(bigrams)), len(bigrams))


@_static("repetitive_answer_share", "diversity", "share", "sampled answers that repeat a word 4-gram within themselves")
def repetitive_answer_share(s: DatasetStats) -> float:
    def repeats(text: str) -> bool:
        w = _WORD.findall(text.lower())
        grams = Counter(tuple(w[i : i + 4]) for i in range(len(w) - 3))
        return any(c > 1 for c in grams.values())

    sample = s.sample_completions
    return _share(sum(repeats(t) for t in sample), len(sample))


# ---------------------------------------------------------------- characters


@_static("non_ascii_char_share", "characters", "share", "characters outside ASCII")
def non_ascii_char_share(s: DatasetStats) -> float:
    return _share(s.train.non_ascii_chars, s.train.chars)


@_static("special_char_share", "characters", "share", "characters that are not letters, digits, spaces or punctuation")
def special_char_share(s: DatasetStats) -> float:
    return _share(s.train.special_chars, s.train.chars)


# ---------------------------------------------------------------- chat template


@_static("chat_template_present", "template", "bool", "the recipe or tokenizer provides a chat template (1) or ChatML is assumed (0)")
def chat_template_present(s: DatasetStats) -> float:
    return float(s.template_present)


@_static("template_generation_tags", "template", "bool", "the template marks assistant text with {% generation %} tags")
def template_generation_tags(s: DatasetStats) -> float:
    return float(s.template_has_generation_tags)


@_static("pad_equals_eos", "template", "bool", "pad token == EOS token: masking padding may also mask EOS")
def pad_equals_eos(s: DatasetStats) -> float:
    return float(s.pad_equals_eos)


@_static("chat_example_share", "template", "share", "examples in chat form (rendered through the template)")
def chat_example_share(s: DatasetStats) -> float:
    return s.train.chat_share


# ---------------------------------------------------------------- recipe-derived


def _num_sequences(s: DatasetStats) -> int:
    """Training sequences per epoch: examples, or packed blocks of max length."""
    recipe = s.recipe
    if recipe is not None and getattr(recipe, "packing", False):
        kept = np.minimum(s.train.lengths["total"], s.max_seq_length).sum()
        return max(1, math.ceil(float(kept) / s.max_seq_length))
    return s.train.n


@_static("effective_batch_size", "recipe", "sequences", "sequences per optimizer step (micro-batch x accumulation x devices)")
def effective_batch_size(s: DatasetStats) -> float:
    return s.recipe.effective_batch_size if s.recipe else NAN


@_static("optimizer_steps", "recipe", "steps", "optimizer steps of the full run")
def optimizer_steps(s: DatasetStats) -> float:
    return s.recipe.total_steps(_num_sequences(s)) if s.recipe else NAN


@_static("epochs", "recipe", "epochs", "passes over the training data the full run makes")
def epochs(s: DatasetStats) -> float:
    return s.recipe.epochs_seen(_num_sequences(s)) if s.recipe else NAN


@_static("tokens_seen", "recipe", "tokens", "tokens processed by the full run (within max length, x epochs)")
def tokens_seen(s: DatasetStats) -> float:
    if not s.recipe:
        return NAN
    kept = float(np.minimum(s.train.lengths["total"], s.max_seq_length).sum())
    return kept * epochs(s)


@_static("loss_tokens_seen", "recipe", "tokens", "loss-bearing tokens processed by the full run")
def loss_tokens_seen(s: DatasetStats) -> float:
    if not s.recipe:
        return NAN
    return float(s.train.lengths["loss_kept"].sum()) * epochs(s)


@_static("log10_learning_rate", "recipe", "log10", "log10 of the peak learning rate")
def log10_learning_rate(s: DatasetStats) -> float:
    return math.log10(s.recipe.learning_rate) if s.recipe else NAN


@_static("lora_rank", "recipe", "rank", "LoRA rank (0: full fine-tune)")
def lora_rank(s: DatasetStats) -> float:
    if not s.recipe:
        return NAN
    return 0.0 if s.recipe.adapter.is_full else float(s.recipe.adapter.rank)


@_static("trainable_param_share", "recipe", "share", "trainable parameters / all parameters (NaN: model unknown)")
def trainable_param_share(s: DatasetStats) -> float:
    if not s.recipe or not s.model_config:
        return NAN
    from tuneahead.models.params import count_params

    return count_params(s.model_config, s.recipe.adapter).trainable_share


@_static("log10_model_params", "recipe", "log10", "log10 of the base model's parameter count (NaN: model unknown)")
def log10_model_params(s: DatasetStats) -> float:
    if not s.recipe or not s.model_config:
        return NAN
    from tuneahead.models.params import count_params

    return math.log10(count_params(s.model_config, s.recipe.adapter).total)


@_static("loss_tokens_per_trainable_param", "recipe", "ratio", "loss tokens seen per trainable parameter (data vs capacity)")
def loss_tokens_per_trainable_param(s: DatasetStats) -> float:
    if not s.recipe or not s.model_config:
        return NAN
    from tuneahead.models.params import count_params

    return loss_tokens_seen(s) / max(1, count_params(s.model_config, s.recipe.adapter).trainable)


# ---------------------------------------------------------------- base model (needs local weights)


@_static("base_answer_nll_mean", "model", "nats", "base model's mean per-example answer log-perplexity (NaN: no model)")
def base_answer_nll_mean(s: DatasetStats) -> float:
    return s.base_perplexity[0] if s.base_perplexity else NAN


@_static("base_answer_nll_std", "model", "nats", "std of the base model's per-example answer log-perplexity")
def base_answer_nll_std(s: DatasetStats) -> float:
    return s.base_perplexity[1] if s.base_perplexity else NAN
