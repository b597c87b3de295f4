"""TuneAhead: tells you, before you pay for an LLM fine-tune, whether it will reach its target."""

from tuneahead._version import __version__

__all__ = ["Decision", "Target", "Verdict", "__version__", "check"]


def __getattr__(name: str):
    # Lazy: `import tuneahead` stays light (no torch) until the gate is actually used.
    if name in {"Decision", "Target", "Verdict", "check"}:
        import tuneahead.gate as gate

        return getattr(gate, name)
    raise AttributeError(f"module 'tuneahead' has no attribute {name!r}")
