"""Shared fixtures. Tests never touch the network; caches go to a temporary folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))  # test helpers (planted.py, ...) import as plain modules
# A stand-in plugin package: its dist-info registers the campaign tests' run function ("sleepy") in the
# `tuneahead.run_functions` entry-point group, as an installed package would.
PLUGINS = TESTS / "plugins"
sys.path.insert(0, str(PLUGINS))
REPO = TESTS.parent


@pytest.fixture(autouse=True, scope="session")
def _offline_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ.setdefault("TUNEAHEAD_CACHE", str(tmp_path_factory.mktemp("tuneahead-cache")))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def default_bundle():
    from tuneahead.models.tokenizer import load_default_tokenizer

    return load_default_tokenizer()
