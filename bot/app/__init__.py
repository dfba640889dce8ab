"""Entry points and runtime: CLI, webhook server, GitHub Action, settings, logging, metrics."""
