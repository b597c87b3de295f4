"""TuneAhead: tells you, before you pay for an LLM fine-tune, whether it will reach its target."""

__version__ = "0.1.0"

__all__ = ["Decision", "Target", "Verdict", "check"]


def __getattr__(name: str):
    # Lazy: `import tuneahead` stays light (no torch) until the gate is actually used.
    if name in __all__:
        import tuneahead.gate as gate

        return getattr(gate, name)
    raise AttributeError(f"module 'tuneahead' has no attribute {name!r}")
