"""Which documents a question names (`chains.naming`): the manual page a question about a
command asks about, a Chinese note by its title; and that the retriever then searches within
them too (the manpages-zh measurement is in docs/quality.md)."""

from __future__ import annotations

import pytest

from chains.naming import DocumentNames, document_name
from chains.retrieval import build_retriever
from config import RetrievalSettings
from index.knowledge_base import KnowledgeBase

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
