"""Which documents a question names (`chains.naming`): the manual page a question about a
command asks about, a Chinese note by its title; and that the retriever then searches within
them too, ranking the windows that hold the entry of an option the question asks about (the
manpages-zh measurement is in docs/quality.md)."""

from __future__ import annotations

import pytest

from chains.naming import (
    DocumentNames,
    Window,
    document_name,
    option_windows,
    options_in,
    without_names,
)
from chains.retrieval import build_retriever
from config import RetrievalSettings
from index.knowledge_base import KnowledgeBase
from tests.support.fakes import fake_embedder
from tests.support.knowledge import indexed

SOURCES = [
    "man/chage.1.txt",
    "man/passwd.1.txt",
    "man/passwd.5.txt",
    "man/ssh-keygen.1.txt",
    "library/os.html",
    "library/os.path.html",
    "notes/注意力机制.md",
    "notes/a.md",
    "README",
]


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("man/chage.1.txt", "chage"),
        ("library/os.path.html", "os.path"),
        ("notes/注意力机制.md", "注意力机制"),
        ("README", "readme"),
        ("v2/Notes.2.md", "notes"),
    ],
)
def test_a_file_is_named_without_its_extension_and_section(source, name):
    assert document_name(source) == name


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("What does passwd -a do?", ["man/passwd.1.txt", "man/passwd.5.txt"]),
        ("用 chage 怎样取消一个账户的过期日期？", ["man/chage.1.txt"]),
        (
            "How does os.path.join treat an absolute part?",
            ["library/os.html", "library/os.path.html"],
        ),
        ("ssh-keygen 的 -t 选项", ["man/ssh-keygen.1.txt"]),
        ("总结注意力机制那篇笔记", ["notes/注意力机制.md"]),
        ("Does usermod's -a need -G?", []),
        ("How do I change a password?", []),  # "passwd" is not a word of it
        ("What is a quorum?", []),  # "a" is too short to be a name
    ],
)
def test_a_question_names_the_files_whose_names_are_its_words(question, named):
    assert DocumentNames(lambda: SOURCES).named_in(question) == named


def test_a_named_document_is_searched_too(fake_kb: KnowledgeBase):
    """A question naming a note finds that note's passage even where the whole-corpus search
    ranks other notes' passages first."""
    source = sorted(fake_kb.manifest.files)[0]
    name = document_name(source)
    question = f"{name}: Laplace add-one counts perplexity"
    plain = build_retriever(fake_kb, RetrievalSettings(named_weight=0, k=10, rerank_top=0))
    named = build_retriever(fake_kb, RetrievalSettings(named_weight=2, k=10, rerank_top=0))
    before = [d.metadata["source"] for d in plain.invoke(question)]
    after = named.invoke(question)
    assert after[0].metadata["source"] == source != before[0]
    assert "named dense" in after[0].metadata["ranks"]


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("What does passwd -a do?", ["-a"]),
        ("rm -I 和 -i 有什么不同？", ["-I", "-i"]),
        ("useradd 不指定-b 时呢", ["-b"]),
        ("Does --no-log-init (-l) keep lastlog?", ["--no-log-init", "-l"]),
        ("find -name or -iname?", ["-name", "-iname"]),
        ("How do ssh-keygen and e-mail work, 3-4 times?", []),
        ("x - y", []),
    ],
)
def test_a_question_asks_about_the_options_written_in_it(question, options):
    assert options_in(question) == options


PAGE = (
    "SYNOPSIS\ntool [-a] [-b] file\n\nOPTIONS\n"
    "-b, --brief\nprints less. See also -a.\n\n"
    "-a, --all\nprints every line, hidden ones too, and then the totals of each kind; "
    "by default only the first screen.\n\n"
    "-c, --count\nprints how many.\n"
)


def windows_of(text: str, size: int, step: int) -> list[Window]:
    """Overlapping windows as ingest makes them (each `size` characters, `step` apart)."""
    starts = range(0, max(len(text) - size, 0) + step, step)
    return [Window(f"w{start}", start, text[start : start + size]) for start in starts]


def test_an_options_entry_is_found_in_the_windows_that_hold_it_most_first():
    """`-a`'s entry runs from its line (offset 77) to the next option's line, at most one
    window long (to 147): w70 holds 63 characters of it, w105 42, w35 28, w140 7. w0 only
    mentions `-a` (the synopsis' `[-a]`) and w175 lies past the entry."""
    windows = windows_of(PAGE, 70, 35)
    assert PAGE.index("-a, --all") == 77
    assert option_windows(windows, ["-a"]) == ["w70", "w105", "w35", "w140"]
    assert option_windows(windows, ["-c"])[0] == "w175"


def test_an_option_without_an_entry_lists_the_windows_that_mention_it():
    windows = windows_of(PAGE.replace("-a, --all", "all mode"), 90, 40)
    mentioning = [w.key for w in windows if " -a." in w.text or "[-a]" in w.text]
    assert option_windows(windows, ["-a"]) == mentioning
    assert option_windows(windows, ["-A"]) == []  # options are case-sensitive


@pytest.mark.parametrize(
    ("text", "names", "left"),
    [
        ("What does useradd -f do? USERADD", {"useradd"}, "What does   -f do?  "),
        (
            "Is useradd.conf read by useradd-pre?",
            {"useradd"},
            "Is useradd.conf read by useradd-pre?",
        ),
        ("chat 程序默认把错误信息发送到哪里", {"chat"}, "  程序默认把错误信息发送到哪里"),
        ("总结注意力机制那篇笔记", {"注意力机制"}, "总结 那篇笔记"),
    ],
)
def test_a_named_documents_keyword_search_leaves_its_name_out(text, names, left):
    assert without_names(text, names) == left


@pytest.fixture(scope="module")
def manual_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """Two pages of a small manual, the options of `tool` past its first windows."""
    folder = tmp_path_factory.mktemp("manual")
    filler = "".join(
        f"-{letter}, --{letter}{letter}\nsets mode {letter} of tool: tool then prints the lines "
        f"of each file in mode {letter}, which tool.conf may also set for every run.\n\n"
        for letter in "bcdefghijk"
    )
    (folder / "tool.1.txt").write_text(
        "TOOL(1)\ntool prints files. tool reads tool.conf; tool is small.\n\nOPTIONS\n"
        + filler
        + "-a, --all\nprints every line, hidden ones too.\n\n-z, --zero\nends lines with NUL.\n",
        encoding="utf-8",
    )
    (folder / "other.1.txt").write_text("OTHER(1)\nother calls tool -a on each file.\n", "utf-8")
    return indexed(folder, tmp_path_factory.mktemp("manual-index") / "index", fake_embedder())


def test_the_entry_of_an_option_asked_about_comes_first(manual_kb: KnowledgeBase):
    question = "What does tool -a do?"
    settings = RetrievalSettings(k=5, rerank_top=0, translate_query="off")
    with_options = build_retriever(manual_kb, settings).invoke(question)
    without = build_retriever(manual_kb, settings.model_copy(update={"option_weight": 0}))
    assert "-a, --all" in with_options[0].page_content
    assert "named option" in with_options[0].metadata["ranks"]
    assert "-a, --all" not in without.invoke(question)[0].page_content
