"""The Streamlit app driven through Streamlit's AppTest as a user clicks through it (the `app`
fixture in tests/conftest.py starts it)."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest


def index_samples(app: AppTest) -> AppTest:
    app.run()
    app.sidebar.radio[0].set_value("Knowledge base").run()
    next(b for b in app.button if b.label == "Index the sample documents").click().run()
    app.sidebar.radio[0].set_value("Chat").run()
    return app


def ask(app: AppTest, question: str) -> AppTest:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception
    return app


def source_cards(app: AppTest) -> list[str]:
    """The source cards' labels (`[n] file …`): not the sidebar's Filters, not an answer's time
    breakdown."""
    return [e.label for e in app.main.expander if re.search(r"\[\d+\] ", e.label)]
