"""The app's knowledge bases through Streamlit's AppTest: the picker, create (bad names
refused), a question in each never crossing into the other, delete confirmed. Real index,
real embedder, real local model."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support.notes import OPTICS, QUESTION, write_optics
from tests.support.paths import SAMPLE_DIR
from tests.support.streamlit_app import ask, index_samples, source_cards


def button(session: AppTest, label: str):
    return next(b for b in session.button if b.label == label)


def create(session: AppTest, name: str) -> AppTest:
    session.text_input(key="kb_new_name").input(name).run()
    return session.button(key="kb_create").click().run()


def test_two_knowledge_bases_never_cross_and_the_active_one_can_be_deleted(app, tmp_path):
    index_samples(app)
    app.sidebar.radio[0].set_value("Knowledge base").run()
    create(app, "a/b")
    assert not app.exception, app.exception
    assert "'/', '\\' and '..' are not allowed" in app.error[0].value
    assert app.sidebar.selectbox(key="kb").options == ["default"]

    create(app, "physics")
    assert app.sidebar.selectbox(key="kb").value == "physics"  # switched to the new one
    assert app.title[0].value == "Knowledge base: physics"
    app.sidebar.radio[0].set_value("Chat").run()
    assert "`python ingest.py --kb physics`" in app.info[0].value  # nothing indexed yet
    app.sidebar.radio[0].set_value("Knowledge base").run()
    write_optics(Path(tmp_path / ".ragchat" / "knowledge_bases" / "physics" / "documents"))
    button(app, "Index the documents").click().run()
    assert not app.exception, app.exception
    assert app.metric[0].value == "2"  # files

    app.sidebar.radio[0].set_value("Chat").run()
    ask(app, QUESTION)
    physics_cards = source_cards(app)
    assert physics_cards and all(any(n in card for n in OPTICS) for card in physics_cards)

    app.sidebar.selectbox(key="kb").set_value("default").run()
    button(app, "New chat").click().run()
    ask(app, QUESTION)
    sample_names = [path.name for path in SAMPLE_DIR.iterdir()]
    default_cards = source_cards(app)
    assert default_cards and all(any(n in card for n in sample_names) for card in default_cards)

    app.sidebar.selectbox(key="kb").set_value("physics").run()
    app.sidebar.radio[0].set_value("Knowledge base").run()
    app.text_input(key="kb_rename_to").input("光学").run()
    app.button(key="kb_rename").click().run()
    assert app.sidebar.selectbox(key="kb").value == "光学"
    assert app.metric[0].value == "2"  # the same index under its new name
    assert app.button(key="kb_delete_button").disabled  # not before the confirmation
    app.checkbox(key="kb_delete").check().run()
    app.button(key="kb_delete_button").click().run()
    assert not app.exception, app.exception
    assert app.sidebar.selectbox(key="kb").value == "default"
    assert app.sidebar.selectbox(key="kb").options == ["default"]
    assert "Deleted '光学'" in app.success[0].value
    assert not any((tmp_path / ".ragchat" / "knowledge_bases").iterdir())
    app.sidebar.radio[0].set_value("Chat").run()
    ask(app, QUESTION)  # the app goes on with the default knowledge base
    assert source_cards(app)
