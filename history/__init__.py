"""Conversations that survive a restart: a SQLite store, their Markdown export, and notes on
stored sources whose documents have changed or gone."""
