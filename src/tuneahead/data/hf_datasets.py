"""Hugging Face datasets as users keep them: `save_to_disk` folders and the local caches, found offline.

- `Dataset.save_to_disk(folder)`: `state.json` names the Arrow files (`data-00000-of-00001.arrow`),
  next to `dataset_info.json` (metadata, not data).
- `DatasetDict.save_to_disk(folder)`: `dataset_dict.json` lists the splits, each a Dataset folder.
- A hub dataset id (`org/name`, as Axolotl's `datasets: [{path: ...}]`, TRL's `dataset_name` or a
  LLaMA-Factory `hf_hub_url` write it) is looked up where the hub client keeps downloads
  (`HF_HUB_CACHE`, default `$HF_HOME/hub`: `datasets--org--name/snapshots/<revision>/...`) and where
  `datasets.load_dataset` keeps prepared Arrow files (`HF_DATASETS_CACHE`, default `$HF_HOME/datasets`:
  `org___name/<config>/<version>/<hash>/name-<split>*.arrow`). Nothing is ever downloaded.

The files are read by the ordinary readers (Arrow IPC, Parquet, JSON Lines, ...) with pyarrow, which
TuneAhead already needs: the `datasets` library itself (and its dependencies) is not required to read
what it wrote.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tuneahead.errors import DataError, Location
from tuneahead.paths import is_hub_id

DEFAULT_SPLIT = "train"
_DATA_SUFFIXES = (".arrow", ".parquet", ".jsonl", ".json", ".csv", ".tsv", ".jsonl.gz", ".json.gz", ".csv.gz")
_SPLIT_WORDS = ("train", "validation", "valid", "dev", "test", "eval")


def base_split(split: str | None) -> str:
    """The split's name without a slice (`datasets` accepts "train[:20%]", "train[100:200]")."""
    return re.sub(r"\[.*\]$", "", (split or DEFAULT_SPLIT).strip()) or DEFAULT_SPLIT


def looks_like_hub_id(text: str) -> bool:
    return is_hub_id(text.strip()) and not text.strip().endswith(_DATA_SUFFIXES)


def saved_dataset_files(folder: Path, split: str | None) -> list[Path] | None:
    """The Arrow files of a `save_to_disk` folder (for a DatasetDict, of `split`), or None when the folder
    is not one."""
    if (folder / "dataset_dict.json").is_file():
        splits = _read_json(folder / "dataset_dict.json").get("splits") or []
        chosen = base_split(split)
        if chosen not in splits:
            raise DataError(
                f"this DatasetDict has no split {chosen!r}",
                Location(file=str(folder), field="split"),
                hint=f"its splits: {', '.join(map(str, splits)) or 'none'} (set the dataset's split in the recipe)",
            )
        return saved_dataset_files(folder / chosen, None) or []
    state = folder / "state.json"
    if not (state.is_file() and (folder / "dataset_info.json").is_file()):
        return None
    names = [f.get("filename") for f in _read_json(state).get("_data_files") or [] if isinstance(f, dict)]
    files = []
    for name in names:
        path = folder / str(name)
        if not isinstance(name, str) or Path(name).name != name or not path.is_file():
            raise DataError(f"state.json names a data file that is not in the folder: {name!r}", Location(file=str(state)))
        files.append(path)
    return files


def cache_roots() -> tuple[Path, Path]:
    """(hub download cache, `datasets` Arrow cache), as the Hugging Face libraries resolve them."""
    home = Path(os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "huggingface")
    hub = Path(os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE") or home / "hub")
    prepared = Path(os.environ.get("HF_DATASETS_CACHE") or home / "datasets")
    return hub.expanduser(), prepared.expanduser()


def cached_hub_dataset_files(repo_id: str, split: str | None) -> list[Path]:
    """Data files of a hub dataset already on this machine; a DataError saying where it looked if none."""
    hub, prepared = cache_roots()
    chosen = base_split(split)
    org, _, name = repo_id.strip().partition("/")
    for files in (_prepared_arrow(prepared / f"{org}___{name}", name, chosen),
                  _hub_snapshot(hub / f"datasets--{org}--{name}", chosen)):
        if files:
            return files
    raise DataError(
        f"{repo_id!r} is neither a local path nor a dataset in the local Hugging Face cache "
        f"(looked in {hub / f'datasets--{org}--{name}'} and {prepared / f'{org}___{name}'}); nothing is downloaded",
        Location(file=repo_id),
        hint="download it once where you have network (`datasets.load_dataset` or `huggingface-cli download "
        "--repo-type dataset`), set HF_HOME / HF_DATASETS_CACHE to that cache, or pass a local file",
    )


def _prepared_arrow(root: Path, name: str, split: str) -> list[Path]:
    """`datasets.load_dataset`'s prepared files: <root>/<config>/<version>/<hash>/<name>-<split>[-NNNNN-of-NNNNN].arrow
    (the most recently written build when there are several)."""
    if not root.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(name)}-{re.escape(split)}(-\d{{5}}-of-\d{{5}})?\.arrow$")
    builds: dict[Path, list[Path]] = {}
    for path in root.rglob("*.arrow"):
        if pattern.match(path.name):
            builds.setdefault(path.parent, []).append(path)
    if not builds:
        return []
    newest = max(builds, key=lambda folder: max(p.stat().st_mtime for p in builds[folder]))
    return sorted(builds[newest])


def _hub_snapshot(root: Path, split: str) -> list[Path]:
    """Raw data files of the newest snapshot of a hub dataset repo, those of `split` when files name splits."""
    snapshots = root / "snapshots"
    if not snapshots.is_dir():
        return []
    revisions = [p for p in snapshots.iterdir() if p.is_dir()]
    ref = root / "refs" / "main"
    main = ref.read_text(encoding="utf-8").strip() if ref.is_file() else None
    chosen = next((p for p in revisions if p.name == main), None) or max(revisions, key=os.path.getmtime, default=None)
    if chosen is None:
        return []
    files = sorted(p for p in chosen.rglob("*") if p.is_file() and p.name.lower().endswith(_DATA_SUFFIXES))
    by_split = [p for p in files if _split_of(p.relative_to(chosen)) == split]
    named = [p for p in files if _split_of(p.relative_to(chosen)) is not None]
    return by_split if named else files


def _split_of(relative: Path) -> str | None:
    """The split a hub data file belongs to, by the hub's naming conventions (train-00000-of-00001.parquet,
    data/train.jsonl, test/...)."""
    words = re.split(r"[\W_]+", relative.as_posix().lower())
    for word in words:
        if word in _SPLIT_WORDS:
            return {"valid": "validation", "dev": "validation", "eval": "validation"}.get(word, word)
    return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path.name}: {exc}", Location(file=str(path))) from None
    if not isinstance(data, dict):
        raise DataError(f"{path.name} is not a JSON object", Location(file=str(path)))
    return data
