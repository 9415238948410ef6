"""The Streamlit app through Streamlit's AppTest: real index, real local model."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support.paths import REPO
from tests.support.streamlit_app import ask, index_samples, source_cards


def test_first_run_explains_and_indexes_the_samples(app):
    app.run()
    assert "There is no index yet" in app.info[0].value
    app.sidebar.radio[0].set_value("Knowledge base").run()
    next(b for b in app.button if b.label == "Index the sample documents").click().run()
    assert not app.exception
    assert app.metric[0].value == "7"  # files
    assert int(app.metric[1].value) > 10  # chunks


def test_question_gets_a_streamed_answer_with_source_cards_and_follow_up(app):
    ask(index_samples(app), "什么是困惑度？")
    cards = source_cards(app)
    assert cards and "ngram-language-models.md" in cards[0]
    assert any(e.label.startswith("Time: ") for e in app.main.expander)  # where it went
    turn = app.session_state["turns"][0]
    assert turn["answer"].strip() and not turn["error"]
    ask(app, "它的数值越低说明什么？")
    follow_up = app.session_state["turns"][1]
    assert follow_up["answer"].strip()
    assert any(s["source"] == "ngram-language-models.md" for s in follow_up["sources"])


def test_switching_retrieval_mode_and_profile(app):
    index_samples(app)
    app.sidebar.selectbox(key="mode").set_value("bm25").run()
    app.sidebar.selectbox(key="profile").set_value("nokey").run()
    assert "API key missing" in app.sidebar.caption[0].value
    ask(app, "Kneser-Ney smoothing")
    assert "no OpenAI API key" in app.error[0].value
    assert "smoothing.md" in source_cards(app)[0]  # retrieval still answers


def test_unreachable_server_is_shown_not_raised(app):
    index_samples(app)
    app.sidebar.selectbox(key="profile").set_value("down").run()
    ask(app, "What does LoRA train?")
    assert "cannot reach the server" in app.error[0].value
    assert source_cards(app)


def test_every_committed_profile_can_be_chosen():
    """The sidebar describes each profile of the shipped config.toml without knowing its
    fields (transformers profiles have no model_path)."""
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    profiles = app.sidebar.selectbox(key="profile").options
    assert {"local", "openai", "transformers", "finetuned", "finetuned-gguf"} <= set(profiles)
    for profile in profiles:
        app.sidebar.selectbox(key="profile").set_value(profile).run()
        assert not app.exception, (profile, app.exception)
        assert app.sidebar.caption[0].value.strip()


def test_two_sessions_asking_at_once_get_their_answers(app):
    """Two browser sessions share the process's one model: their questions take turns."""
    import threading

    questions = ["什么是困惑度？", "What does DPO skip compared with RLHF?"]
    index_samples(app)

    def new_session() -> AppTest:
        return AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()

    alone = [ask(new_session(), q).session_state["turns"][0]["answer"] for q in questions]
    sessions = [new_session() for _ in questions]
    threads = [
        threading.Thread(target=session.chat_input[0].set_value(q).run)
        for session, q in zip(sessions, questions, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    for session in sessions:
        assert not session.exception, session.exception
    together = [session.session_state["turns"][0]["answer"] for session in sessions]
    assert together == alone
