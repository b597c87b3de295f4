"""Models: resolution and loading (built-in tiny models, SmolLM2, HF folders, GGUF), configs, parameter counts."""
