"""The documentation: the generated configuration reference and the links of README and docs/.

Fast: no model, no index; it reads Markdown files and renders the reference from `config.py`.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _hook():
    path = DOCS / "hooks" / "config_reference.py"
    spec = importlib.util.spec_from_file_location("config_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _prose(text: str) -> str:
    """The Markdown without code blocks and code spans (a link in code is not a link)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _links(page: Path) -> list[str]:
    return LINK.findall(_prose(page.read_text(encoding="utf-8")))


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub and mkdocs' toc both make it for plain headings."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"[\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    return {_slug(heading) for heading in HEADING.findall(_prose(page.read_text("utf-8")))}


def test_reference_shows_every_field_with_its_description():
    hook = _hook()
    rendered = hook.render()
    sections = hook.sections()
    titles = [title for title, _model, _prefix in sections]
    for name in hook._config_module().Settings.model_fields:
        assert f"[{name}]" in titles
    backends = {
        model.model_fields["backend"].default
        for title, model, _p in sections
        if ".profiles." in title
    }
    assert backends == {"llamacpp", "openai", "transformers"}
    chunks = {chunk.split("`", 2)[1]: chunk for chunk in rendered.split("## ")[1:]}
    for title, model, prefix in sections:
        assert title in chunks, f"no section {title}"
        lines = chunks[title].splitlines()
        for field, info in model.model_fields.items():
            row = [line for line in lines if line.startswith(f"| `{field}` |")]
            assert len(row) == 1, f"{title} {field} is missing"
            assert f"| `{prefix}{field.upper()}` |" in row[0]
            described = " ".join((info.description or "").split()).replace("|", "\\|")
            assert described, f"{title} {field} has no docstring"
            assert row[0].endswith(f"| {described} |"), f"{title} {field}: not described"


def test_reference_fills_the_configuration_page():
    hook = _hook()
    page = (DOCS / hook.PAGE).read_text(encoding="utf-8")
    assert hook.MARKER in page

    class File:
        src_uri = hook.PAGE

    class Page:
        file = File()

    rendered = hook.on_page_markdown(page, Page(), None, None)
    assert hook.MARKER not in rendered
    assert "`RAGCHAT_RETRIEVAL__K`" in rendered
    assert "`RAGCHAT_LLM__PROFILES__<NAME>__MODEL_PATH`" in rendered


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    broken = []
    for target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        missing = not linked.exists()
        if missing or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links that resolve to nothing: {broken}"


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines; move detail into docs/"
