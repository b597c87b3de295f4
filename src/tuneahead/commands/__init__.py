"""CLI commands, one module each; see `tuneahead.cli.COMMAND_MODULES`."""
