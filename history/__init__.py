"""Conversations that survive a restart: a SQLite store and their Markdown export."""
