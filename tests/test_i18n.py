"""The language machinery on its own: choosing a language from a browser tag, an
Accept-Language header or the POSIX variables; errors rendered in it from their message id and
parameters; numbers, sizes and plurals; a person's saved choice."""

from __future__ import annotations

from pathlib import Path

import pytest

import i18n
from accounts.store import AccountStore
from config import AuthSettings
from errors import Message
from i18n import _, explain, format_count, format_size, ngettext, using
from index.catalog import KnowledgeBaseError, check_name
from services.people import LOCAL_OPERATOR, AccountService


@pytest.mark.parametrize(
    ("tag", "language"),
    [("zh-CN", "zh_CN"), ("zh", "zh_CN"), ("zh-TW", "zh_CN"), ("en-GB", "en"), ("fr-FR", "en"),
     (None, "en"), ("", "en")],
)  # fmt: skip
def test_a_browser_tag_chooses_a_language_ragchat_speaks(tag, language) -> None:
    assert i18n.from_tag(tag) == language


def test_accept_language_is_read_by_quality() -> None:
    assert i18n.from_accept_language("fr;q=1, zh-CN;q=0.8, en;q=0.9") == "en"
    assert i18n.from_accept_language("en;q=0.5, zh-CN") == "zh_CN"
    assert i18n.from_accept_language("zh-CN;q=0, de") == "en"
    assert i18n.from_accept_language(None) == "en"


def test_the_system_locale_follows_gettexts_order() -> None:
    assert i18n.from_environment({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.from_environment({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "en"
    assert i18n.from_environment({"LC_MESSAGES": "zh_CN.GB18030", "LANG": "en_US"}) == "zh_CN"
    assert i18n.from_environment({}) == "en"


def test_an_error_is_english_by_default_and_chinese_when_asked() -> None:
    with pytest.raises(KnowledgeBaseError) as caught:
        check_name("a/b")
    err = caught.value
    assert str(err).startswith("'a/b': '/', '\\' and '..' are not allowed; use letters")
    with using("zh_CN"):  # its nested message (what is allowed) is translated too
        assert explain(err).startswith("'a/b'：不允许使用 '/'、'\\' 和 '..'；请使用字母")
    with using("en"):
        assert explain(err) == str(err)


def test_a_message_without_parameters_is_taken_as_written() -> None:
    assert str(Message("50% {not a field}")) == "50% {not a field}"


def test_numbers_sizes_and_plurals_follow_the_language() -> None:
    with using("en"):
        assert format_count(12345) == "12,345" and format_size(1_500_000) == "1.5 MB"
        assert ngettext("{count} file", "{count} files", 1).format(count=1) == "1 file"
        assert _("New chat") == "New chat"
    with using("zh_CN"):
        assert ngettext("{count} file", "{count} files", 3).format(count=3) == "3 个文件"
        assert _("New chat") == "新对话"


def test_a_persons_language_is_saved_in_the_accounts_file(tmp_path: Path) -> None:
    accounts = AccountService(AccountStore(tmp_path / "users.db"), AuthSettings())
    ada = accounts.add_person(LOCAL_OPERATOR, "ada", "admin", "correct horse")
    assert accounts.language(ada) is None
    accounts.set_language(ada, "zh_CN")
    accounts.set_language(ada, "en")
    again = AccountService(AccountStore(tmp_path / "users.db"), AuthSettings())
    assert again.language(ada) == "en"


def test_the_api_keeps_english_unless_accept_language_asks_and_never_changes_the_code() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/name")
    def name() -> None:
        check_name("a/b")

    client = TestClient(app)
    english = client.get("/name").json()["error"]
    chinese = client.get("/name", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()["error"]
    assert english["message"].startswith("'a/b': '/', '\\' and '..' are not allowed")
    assert chinese["message"].startswith("'a/b'：不允许使用")
    assert english["code"] == chinese["code"] == "invalid_knowledge_base"
