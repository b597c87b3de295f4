"""The package version, on the lowest floor (the root package is a facade over the gate)."""

__version__ = "0.1.0"
