"""Conversations survive the app: asked in one session, listed, reopened and continued in a new
one (real index, real local model, real SQLite file), then renamed, exported and deleted."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from history.store import HistoryStore, Turn
from services.answering import RagService
from services.container import ServiceHub
from services.conversations import GONE
from tests.support.paths import REPO
from tests.support.streamlit_app import ask, index_samples, source_cards


def restarted() -> AppTest:
    """A new browser session on the same config: nothing of the first session's state."""
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()


def open_buttons(session: AppTest) -> dict[str, str]:
    return {
        b.key: b.label for b in session.sidebar.button if (b.key or "").startswith("history-open-")
    }


def test_a_conversation_is_kept_reopened_continued_renamed_exported_and_deleted(app, monkeypatch):
    question, follow_up = "什么是困惑度？", "它的数值越低说明什么？"
    ask(index_samples(app), question)
    conversation = app.session_state["conversation"]
    settings = app.session_state["settings"]
    store = HistoryStore(settings.paths.history)
    assert [t["question"] for t in store.get(conversation).turns] == [question]

    session = restarted()
    assert open_buttons(session) == {f"history-open-{conversation}": question}
    assert any("default · local" in c.value for c in session.sidebar.caption)
    session.button(key=f"history-open-{conversation}").click().run()
    assert [t["question"] for t in session.session_state["turns"]] == [question]
    cards = source_cards(session)
    assert cards and "ngram-language-models.md" in cards[0] and "⚠" not in cards[0]

    histories: list[list[tuple[str, str]]] = []
    stream = RagService.stream

    def recorded(self, question, history=(), *args, **kwargs):
        histories.append(list(history))
        return stream(self, question, history, *args, **kwargs)

    monkeypatch.setattr(RagService, "stream", recorded)
    ask(session, follow_up)
    first_answer = store.get(conversation).turns[0]["answer"]
    assert histories == [[(question, first_answer)]]  # the reopened turn is the history
    turns = store.get(conversation).turns
    assert [t["question"] for t in turns] == [question, follow_up]  # appended, not a new one
    assert any(s["source"] == "ngram-language-models.md" for s in turns[1]["sources"])
    assert len(store.list()) == 1

    session.text_input(key=f"history-title-{conversation}").set_value("Perplexity").run()
    session.button(key="history-rename").click().run()
    assert open_buttons(session) == {f"history-open-{conversation}": "▸ Perplexity"}
    markdown = store.export_markdown(conversation)
    assert markdown.startswith("# Perplexity\n") and f"## {follow_up}" in markdown

    ServiceHub(settings).ingesting.forget(["ngram-language-models.md"], on_message=lambda _: None)
    session.button(key=f"history-open-{conversation}").click().run()
    assert any(GONE in card for card in source_cards(session))

    session.button(key="history-delete").click().run()
    assert "cannot be undone" in session.sidebar.warning[0].value
    session.button(key="history-delete-confirm").click().run()
    assert not session.exception
    assert open_buttons(session) == {} and session.session_state["turns"] == []
    assert store.list() == []
    assert open_buttons(restarted()) == {}


def test_opening_a_conversation_switches_to_its_knowledge_base(app):
    """Its knowledge base is chosen in the picker; one that no longer exists is not, and the
    cards say their documents are gone."""
    app.run()
    settings = app.session_state["settings"]
    ServiceHub(settings).knowledge_bases.create("papers")
    store = HistoryStore(settings.paths.history)
    card = {"n": 1, "id": "c1", "source": "lora.md", "page": None, "start": 0, "end": 5,
            "score": 0.5, "text": "LoRA", "label": "lora.md"}  # fmt: skip
    turn = Turn(
        question="What is LoRA?", answer="Low-rank [1]", error="", cited=[1], sources=[card]
    )
    papers = store.create("What is LoRA?", kb="papers", profile="nokey", turns=[turn])
    gone = store.create("What is LoRA?", kb="old-notes", profile="local", turns=[turn])

    app.run()
    assert app.sidebar.selectbox(key="kb").value == "default"
    app.button(key=f"history-open-{papers}").click().run()
    assert app.sidebar.selectbox(key="kb").value == "papers"
    assert app.sidebar.selectbox(key="profile").value == "nokey"  # its profile too
    assert app.session_state["turns"][0]["answer"] == "Low-rank [1]"

    app.button(key=f"history-open-{gone}").click().run()
    assert not app.exception
    assert app.sidebar.selectbox(key="kb").value == "papers"  # no "old-notes" to switch to
    assert app.session_state["conversation"] == gone
    assert GONE in app.session_state["turns"][0]["sources"][0]["note"]


def test_an_unusable_history_file_turns_history_off_and_chat_still_works(app):
    app.run()
    path = app.session_state["settings"].paths.history
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not SQLite at all\n" * 100)
    ask(index_samples(app), "什么是困惑度？")
    assert app.session_state["turns"][0]["answer"].strip()
    warning = app.sidebar.warning[0].value
    assert "Chat history is off" in warning and "left as it is" in warning
    assert path.read_bytes() == b"not SQLite at all\n" * 100
