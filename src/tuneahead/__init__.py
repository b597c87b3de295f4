"""TuneAhead: tells you, before you pay for an LLM fine-tune, whether it will reach its target."""

__version__ = "0.1.0"
