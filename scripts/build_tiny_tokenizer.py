"""Rebuild the tokenizer shared by the built-in tiny models (`tiny-0.2m`, `tiny-1m`, `tiny-4m`).

A byte-level BPE with 2,048 tokens, trained with the `tokenizers` library, entirely offline:

- Python's own standard library, read from the running interpreter (`sysconfig.get_paths()["stdlib"]`,
  test suites excluded): module sources and, once more, their docstrings as prose. The standard
  library is distributed by the Python Software Foundation under the PSF License Agreement, which
  permits use and redistribution of derived works; only learned merges and token strings are kept.
- 40,000 synthetic instruction-style documents generated from a fixed seed (no outside data).

Special tokens, at fixed ids: 0 `<|endoftext|>` (document separator, BOS), 1 `<|im_start|>`,
2 `<|im_end|>` (EOS), 3 `<|pad|>` (PAD, distinct from EOS). The chat template is ChatML.

The result is deterministic for a given Python version (the standard library differs between
versions); the committed copy records the version it was built with.

    python scripts/build_tiny_tokenizer.py            # rewrites src/tuneahead/assets/models/tiny-tokenizer/
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tuneahead.models.tiny_tokenizer import build

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "tuneahead" / "assets" / "models" / "tiny-tokenizer"

README = """# tiny-tokenizer

The tokenizer shared by TuneAhead's built-in tiny models (`tiny-0.2m`, `tiny-1m`, `tiny-4m`).
Rebuild it with `python scripts/build_tiny_tokenizer.py`.

- Model: byte-level BPE, {vocab_size:,} tokens, single-digit splitting, trained with the `tokenizers` library.
- Special tokens: `<|endoftext|>` (id 0, document separator and BOS), `<|im_start|>` (1),
  `<|im_end|>` (2, EOS), `<|pad|>` (3, padding; distinct from EOS). Chat template: ChatML.
- Training text, all offline:
  - the {python} standard library ({stdlib_documents:,} documents, {stdlib_chars:,} characters: module
    sources and their docstrings, test suites excluded). Source and licence: the Python Software
    Foundation, distributed under the PSF License Agreement;
  - {synthetic_documents:,} synthetic instruction-style documents generated from a fixed seed
    (`tuneahead.models.corpus.synthetic_documents`).
- Licence of these files: Apache-2.0, as TuneAhead.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args()
    started = time.perf_counter()
    stats = build(args.out)
    (args.out / "README.md").write_text(README.format(**stats), encoding="utf-8")
    print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s: {stats}")


if __name__ == "__main__":
    main()
