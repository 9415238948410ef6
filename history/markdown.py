"""A conversation as a Markdown file: questions, answers, and their numbered sources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def conversation_markdown(
    turns: Sequence[dict[str, Any]], title: str = "ragchat conversation", about: str = ""
) -> str:
    """The chat as Markdown; `about` is a line under the title (date, knowledge base, ...)."""
    lines = [f"# {title}", ""]
    if about:
        lines += [about, ""]
    for turn in turns:
        lines += [f"## {turn['question']}", "", turn["error"] or turn["answer"], ""]
        for source in turn["sources"]:
            lines.append(f"- [{source['n']}] {source['label']}")
        lines.append("")
    return "\n".join(lines)
