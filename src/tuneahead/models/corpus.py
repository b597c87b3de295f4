"""Offline text for the built-in tiny models: Python's standard library plus synthetic instructions.

Nothing here is downloaded. Two sources, both reproducible:

- the running interpreter's standard library (`sysconfig.get_paths()["stdlib"]`): module sources,
  which carry code, comments and docstrings, plus the docstrings again as prose, so English weighs
  more than code. This includes `pydoc_data/topics.py`, the language reference's help text. The
  Python standard library is distributed under the Python Software Foundation License; it changes
  between Python versions, so a corpus is tied to the interpreter that read it.
- synthetic instruction-like text generated from a fixed seed: chat-style questions and answers
  (arithmetic, counting, sorting, labels, copying) with role words, so that the tokens of typical
  fine-tuning data (numbers, "user", "assistant", "Answer:") get merges of their own.
"""

from __future__ import annotations

import ast
import os
import random
import sysconfig
from collections.abc import Iterator
from pathlib import Path

# Test suites are most of the stdlib's bytes and add little but repetition; site-packages is not stdlib.
_SKIP_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"})


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None) -> list[Path]:
    """Standard-library `.py` files in a stable (sorted) order, test suites excluded."""
    root = root or stdlib_dir()
    found: list[Path] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        found.extend(Path(current) / f for f in sorted(files) if f.endswith(".py"))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _docstrings(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # a few stdlib files are templates or target other versions
        return []
    nodes = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)),
    ]
    docs = (ast.get_docstring(n) for n in nodes)
    return [d for d in docs if d and len(d) > 40]


def stdlib_documents(root: Path | None = None, max_bytes: int | None = None) -> Iterator[str]:
    """Module sources, then each module's docstrings as one prose document; stops after `max_bytes`."""
    total = 0
    for path in stdlib_files(root):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for doc in (source, "\n\n".join(_docstrings(source))):
            if not doc:
                continue
            yield doc
            total += len(doc)
            if max_bytes is not None and total >= max_bytes:
                return


_WORD_TEXT = (
    "apple river stone cloud garden window letter market yellow quiet bright simple water music table "
    "mountain forest city road bridge paper story teacher student doctor friend family morning evening "
    "summer winter happy sad fast slow large small early late green blue red black white orange purple "
    "book chair door house school train plane ship bread cheese coffee tea honey salt sugar rice bird "
    "horse tiger lion whale fish flower tree grass sun moon star planet ocean island desert valley "
    "question answer reason number word sentence list order value result problem method example"
)
_WORDS = _WORD_TEXT.split()
_LABELS = (
    "positive",
    "negative",
    "neutral",
    "yes",
    "no",
    "true",
    "false",
    "spam",
    "ham",
    "sports",
    "politics",
    "science",
    "business",
)
_SYSTEM = (
    "You are a helpful assistant.",
    "Answer briefly.",
    "You are a careful assistant. Reply with the answer only.",
)


def _instruction(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(8)
    words = rng.sample(_WORDS, rng.randint(3, 7))
    a, b = rng.randint(0, 999), rng.randint(0, 999)
    if kind == 0:
        return f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}."
    if kind == 1:
        return f"Compute {a} - {b}.", str(a - b)
    if kind == 2:
        return "Sort these words alphabetically: " + ", ".join(words), ", ".join(sorted(words))
    if kind == 3:
        return "How many words are in this list? " + " ".join(words), f"There are {len(words)} words."
    if kind == 4:
        sentence = " ".join(words).capitalize() + "."
        return f"Classify the sentiment of the sentence: {sentence}", rng.choice(_LABELS)
    if kind == 5:
        return "Repeat the last word: " + " ".join(words), words[-1]
    if kind == 6:
        return f"Is {a} greater than {b}? Answer yes or no.", "yes" if a > b else "no"
    return "Write the words in upper case: " + " ".join(words), " ".join(words).upper()


def synthetic_documents(count: int, seed: int = 0) -> Iterator[str]:
    """`count` short instruction-style documents in a few plain layouts (no special tokens)."""
    rng = random.Random(seed)
    for _ in range(count):
        question, answer = _instruction(rng)
        layout = rng.randrange(3)
        if layout == 0:
            yield f"system\n{rng.choice(_SYSTEM)}\nuser\n{question}\nassistant\n{answer}\n"
        elif layout == 1:
            yield f"Question: {question}\nAnswer: {answer}\n"
        else:
            yield f"### Instruction:\n{question}\n\n### Response:\n{answer}\n"
