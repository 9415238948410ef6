"""The app speaks the browser's language (Streamlit's `st.context.locale`, set here through
AppTest's context) and switches in the sidebar without losing the chat: real app, real index."""

from __future__ import annotations

from tests.support.streamlit_app import ask, index_samples


def _labels(app) -> list[str]:
    return [button.label for button in app.button]


def test_a_chinese_browser_gets_the_chinese_chat_sidebar_error_and_knowledge_base_page(app):
    app.context["locale"] = "zh-CN"
    app.run()
    assert not app.exception
    assert app.info[0].value.startswith("还没有索引。")  # the chat page's error: no index yet
    page = app.sidebar.radio(key="page")
    assert page.label == "页面" and page.options == ["对话", "知识库"]
    assert "新对话" in [button.label for button in app.sidebar.button]
    assert app.sidebar.selectbox(key="language_switch").value == "zh_CN"
    page.set_value("知识库").run()  # AppTest picks an option by its shown label
    assert app.title[0].value == "知识库：default"
    assert "为示例文档建立索引" in _labels(app)


def test_an_english_browser_gets_english(app):
    app.context["locale"] = "en-US"
    app.run()
    assert app.info[0].value.startswith("There is no index yet.")
    page = app.sidebar.radio(key="page")
    assert page.label == "Page" and page.options == ["Chat", "Knowledge base"]


def test_the_sidebar_switch_changes_the_page_and_keeps_the_chat(app):
    index_samples(app)
    app.sidebar.selectbox(key="profile").set_value("down").run()  # answers at once: unreachable
    ask(app, "What does LoRA train?")
    assert app.main.caption[0].value == "Sources"
    app.sidebar.selectbox(key="language_switch").set_value("zh_CN").run()
    assert not app.exception
    assert app.sidebar.radio(key="page").label == "页面"
    assert app.main.caption[0].value == "来源"
    assert app.chat_input[0].placeholder == "就你的文档提问…"
    assert [turn["question"] for turn in app.session_state["turns"]] == ["What does LoRA train?"]
    assert "What does LoRA train?" in [m.value for m in app.main.chat_message[0].markdown]
    app.sidebar.selectbox(key="language_switch").set_value("en").run()
    assert app.sidebar.radio(key="page").label == "Page"
