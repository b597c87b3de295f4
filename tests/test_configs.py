"""ProbeConfig and CheckConfig: every knob validated where it enters, and the CLI says what the library does."""

from __future__ import annotations

import pytest

from tuneahead.errors import InputError
from tuneahead.gate.config import CheckConfig
from tuneahead.probe.config import ProbeConfig


@pytest.mark.parametrize("field, value", [("steps", 0), ("budget", 0.0), ("budget", 1.5), ("threads", 0),
                                          ("device", "tpu"), ("eval_points", 1), ("measure_every", 0),
                                          ("accelerator", "H10"), ("mfu", 2.0), ("usd_per_gpu_hour", -1.0),
                                          ("budget", float("inf"))])
def test_a_bad_probe_setting_names_its_field(field: str, value) -> None:
    with pytest.raises(InputError) as err:
        ProbeConfig.build(**{field: value})
    assert err.value.location.field == field


@pytest.mark.parametrize("settings, field", [({"max_probe_share": 0.0}, "max_probe_share"), ({"go_at": 1.2}, "go_at"),
                                             ({"threads": 0}, "threads"), ({"accelerator": "H10"}, "accelerator"),
                                             ({"go_at": 0.2, "no_go_at": 0.4}, "go-at/no-go-at")])
def test_a_bad_check_setting_names_its_field(settings: dict, field: str) -> None:
    with pytest.raises(InputError) as err:
        CheckConfig.build(**settings)
    assert err.value.location.field == field


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(InputError) as err:
        ProbeConfig.build(step=5)  # a typo of `steps`
    assert err.value.location.field == "step"


def test_the_cli_takes_its_defaults_and_help_from_the_configs() -> None:
    import typer

    from tuneahead.cli import app

    command = typer.main.get_command(app)
    check = {p.name: p for p in command.commands["check"].params}  # type: ignore[attr-defined]
    probe = {p.name: p for p in command.commands["probe"].params}  # type: ignore[attr-defined]
    for name, field in (("max_probe_share", "max_probe_share"), ("go_at", "go_at"), ("no_go_at", "no_go_at"),
                        ("accelerator", "accelerator"), ("device", "device"), ("price", "usd_per_gpu_hour")):
        spec = CheckConfig.model_fields[field]
        assert check[name].default == spec.default and check[name].help == spec.description
    for name in ("steps", "threads", "device", "seed", "accelerator", "mfu"):
        spec = ProbeConfig.model_fields[name]
        assert probe[name].default == spec.default and probe[name].help == spec.description
    assert "CPU" in (check["accelerator"].help or "")  # the list of accelerators comes from the cost model
    assert check["adaptive"].default is CheckConfig.model_fields["adaptive"].default is True
