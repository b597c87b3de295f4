"""Do probe features tell a sound recipe from broken ones? Three real probes on a tiny model, side by side.

- sound: full fine-tune of `tiny-1m` on a deterministic task (name the group of a word), learning rate 2e-3;
- lr x100: the same recipe with a learning rate 100 times higher;
- shuffled labels: the same recipe, with the answers shuffled across training examples.

All three are measured on the same clean held-out set. Run from the repository root:

    python scripts/probe_distinguish.py [--steps 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import os
import random

from tuneahead.data.example import Example, Message

# As `tuneahead probe` does: passive OpenMP waiting (spinning threads collapse on shared cores).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# A deterministic task a small model can learn within a probe: name the group of a word.
GROUPS: dict[str, tuple[str, ...]] = {
    "fruit": ("apple", "lemon", "cherry", "mango", "peach"),
    "animal": ("tiger", "horse", "zebra", "camel", "eagle"),
    "color": ("green", "purple", "orange", "yellow", "violet"),
    "tool": ("hammer", "shovel", "wrench", "drill", "chisel"),
    "city": ("paris", "london", "tokyo", "berlin", "madrid"),
    "metal": ("iron", "copper", "silver", "zinc", "nickel"),
}
PAIRS = [(word, group) for group, words in GROUPS.items() for word in words]

KEY_FEATURES = (
    "probe_initial_loss",
    "probe_final_loss",
    "probe_loss_drop_rel",
    "probe_loss_powerlaw_exponent",
    "probe_loss_late_slope_rel",
    "probe_loss_noise",
    "probe_loss_spikes",
    "probe_diverged",
    "probe_nonfinite_step",
    "probe_grad_norm_mean",
    "probe_grad_norm_max",
    "probe_grad_norm_trend",
    "probe_clipped_share",
    "probe_grad_layer_ratio",
    "probe_update_ratio",
    "probe_weight_norm_change",
    "probe_grad_noise_scale",
    "probe_grad_cosine",
    "probe_eval_loss_start",
    "probe_eval_loss_end",
    "probe_eval_loss_change_rel",
    "probe_train_eval_gap",
    "probe_eval_token_accuracy",
    "probe_train_token_accuracy",
)


def group_task(n: int, seed: int, prefix: str) -> list[Example]:
    """Chat examples: "Which group is <word> in?" -> its group (one of six)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        word, group = rng.choice(PAIRS)
        out.append(
            Example(
                id=f"{prefix}:{i}",
                source_format="messages",
                messages=(
                    Message("system", "Answer with one word."),
                    Message("user", f"Which group is {word} in?"),
                    Message("assistant", group),
                ),
            )
        )
    return out


def shuffle_answers(examples: list[Example], seed: int) -> list[Example]:
    """The same prompts with the answers of other examples (labels no longer follow from the input)."""
    answers = [e.messages[-1] for e in examples]
    random.Random(seed).shuffle(answers)
    pairs = zip(examples, answers, strict=True)
    return [Example(e.id, e.source_format, e.messages[:-1] + (a,)) for e, a in pairs]


def fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from tuneahead.models.loading import load_model
    from tuneahead.probe.engine import run_probe
    from tuneahead.recipe.model import AdapterConfig, Recipe

    train = group_task(3000, seed=1, prefix="train")
    held_out = group_task(64, seed=2, prefix="eval")
    sound = Recipe(
        base_model="tiny-1m",
        adapter=AdapterConfig(type="full"),
        learning_rate=2e-3,
        lr_scheduler="cosine",
        warmup_ratio=0.05,
        micro_batch_size=16,
        gradient_accumulation_steps=1,
        max_seq_length=64,
        num_epochs=2,
        seed=0,
    )
    runs = {
        "sound": (sound, train),
        "lr x100": (sound.model_copy(update={"learning_rate": sound.learning_rate * 100}), train),
        "shuffled labels": (sound, shuffle_answers(train, seed=3)),
    }
    model = load_model("tiny-1m")
    results = {}
    for name, (recipe, data) in runs.items():
        results[name] = run_probe(recipe, data, held_out, steps=args.steps, model=model, threads=args.threads)
        r = results[name]
        print(
            f"{name}: {r.steps_done} steps in {sum(x.seconds for x in r.trace):.1f} s"
            f"{' (diverged)' if r.diverged else ''}; findings: {[f.code for f in r.findings] or 'none'}"
        )

    names = list(results)
    width = max(len(k) for k in KEY_FEATURES)
    print()
    print(f"{'feature':<{width}}  " + "  ".join(f"{n:>15}" for n in names))
    for key in KEY_FEATURES:
        print(f"{key:<{width}}  " + "  ".join(f"{fmt(results[n].features[key]):>15}" for n in names))


if __name__ == "__main__":
    main()
