"""Renderers: terminal (rich), JSON and HTML views of results."""
