"""Built-in tiny models: sizes, speed, seeded init, bundled weights, forward pass."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tuneahead.errors import InputError, ModelError
from tuneahead.models import loading
from tuneahead.models.config import model_config
from tuneahead.models.loading import LoadedModel, load_model
from tuneahead.models.params import count_params
from tuneahead.models.zoo import TINY_MODELS, builtin_model_config
from tuneahead.recipe.model import AdapterConfig

NOMINAL = {"tiny-0.2m": 0.2e6, "tiny-1m": 1e6, "tiny-4m": 4e6}


@pytest.fixture
def no_bundled_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random-init behaviour, whether or not pretrained weights ship with the package."""
    monkeypatch.setattr(loading, "tiny_weights_folder", lambda name: tmp_path / "none" / name)


@pytest.mark.parametrize("name", list(TINY_MODELS))
def test_builds_fast_with_expected_size_and_finite_loss(name: str, no_bundled_weights: None) -> None:
    load_model(name)  # first call pays the torch/transformers imports
    started = time.perf_counter()
    loaded = load_model(name)
    assert time.perf_counter() - started < 1.0
    assert isinstance(loaded, LoadedModel)
    assert loaded.kind == "tiny" and loaded.name == name and loaded.source == "random init (seed 0)"
    assert loaded.bundle.name == "tuneahead-tiny"

    n = loaded.num_parameters
    assert 0.75 * NOMINAL[name] < n < 1.35 * NOMINAL[name]
    # The config the descriptors see (no weights) counts exactly the parameters the model has.
    config = model_config(name)
    assert config == builtin_model_config(name)
    assert count_params(config, AdapterConfig(type="full")).total == n
    assert loaded.config["hidden_size"] == TINY_MODELS[name]["hidden_size"]
    assert loaded.model.lm_head.weight is loaded.model.model.embed_tokens.weight  # tied

    ids = torch.tensor([loaded.bundle.tokenizer.encode("Hello world, 123!").ids])
    with torch.no_grad():
        out = loaded.model(input_ids=ids, labels=ids)
    assert torch.isfinite(out.loss)
    # Untrained: close to uniform over the vocabulary.
    assert abs(out.loss.item() - torch.log(torch.tensor(2048.0)).item()) < 1.0


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone(no_bundled_weights: None) -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = load_model("tiny-0.2m", seed=1).model.state_dict()
    after = torch.rand(1)
    assert torch.equal(before, after)
    b = load_model("tiny-0.2m", seed=1).model.state_dict()
    c = load_model("tiny-0.2m", seed=2).model.state_dict()
    key = "model.layers.0.self_attn.q_proj.weight"
    assert torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])


def test_dtype(tmp_path: Path) -> None:
    loaded = load_model("tiny-0.2m", dtype="bfloat16")
    assert {p.dtype for p in loaded.model.parameters()} == {torch.bfloat16}
    with pytest.raises(InputError, match="unknown dtype"):
        load_model("tiny-0.2m", dtype="int3")


def test_bundled_weights_are_loaded_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import save_file

    trained = load_model("tiny-0.2m", seed=5).model
    folder = tmp_path / "tiny-0.2m"
    folder.mkdir()
    # As save_pretrained writes a tied model: no lm_head entry.
    state = {k: v.contiguous() for k, v in trained.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(folder / "model.safetensors"))
    monkeypatch.setattr(loading, "tiny_weights_folder", lambda name: tmp_path / name)

    loaded = load_model("tiny-0.2m", seed=0)
    assert loaded.source == str(folder / "model.safetensors")
    assert loaded.kind == "tiny" and loaded.model.lm_head.weight is loaded.model.model.embed_tokens.weight
    for key, value in trained.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key

    save_file({"model.embed_tokens.weight": torch.zeros(3, 3)}, str(folder / "model.safetensors"))
    with pytest.raises(ModelError, match="do not match"):
        load_model("tiny-0.2m")


PRETRAINED = [n for n in TINY_MODELS if (loading.tiny_weights_folder(n) / "model.safetensors").is_file()]


@pytest.mark.parametrize("name", PRETRAINED)
def test_shipped_pretrained_weights_beat_random_init(name: str) -> None:
    import json

    loaded = load_model(name)
    assert loaded.source.endswith("model.safetensors")
    report = json.loads((loading.tiny_weights_folder(name) / "pretrain.json").read_text())
    assert report["val_loss_final"] < report["val_loss_initial"] - 2.0  # nats/token, measured at pretraining
    text = "def add(a, b):\n    return a + b\n"
    ids = torch.tensor([loaded.bundle.tokenizer.encode(text).ids])
    with torch.no_grad():
        assert loaded.model(input_ids=ids, labels=ids).loss.item() < torch.log(torch.tensor(2048.0)).item() - 1.0
