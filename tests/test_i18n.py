"""The language machinery on its own: choosing a language from a browser tag, an
Accept-Language header or the POSIX variables; errors rendered in it from their message id and
parameters (a knowledge base's name, a chat model that cannot be reached or built, a damaged
Word file); numbers, sizes and plurals; the app's choices by name; a person's saved choice."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

import i18n
import llms
from accounts.store import AccountStore
from config import AuthSettings, IngestSettings, LlamaCppProfile, OpenAIProfile
from errors import Message
from i18n import N_, _, explain, format_count, format_size, ngettext, using
from index.catalog import KnowledgeBaseError, check_name
from index.updater import FileOutcome, IngestReport
from ingest import format_report
from llms.local_server import free_port
from loaders.errors import LoaderError
from loaders.isolation import IsolatedLoader
from loaders.ooxml import reading_office_file
from services.people import LOCAL_OPERATOR, AccountService
from ui.choices import MODE_NAMES, TRANSLATE_NAMES, named


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


def test_an_unreachable_model_server_is_explained_in_chinese() -> None:
    """The official client's own error, from a loopback port nobody listens on."""
    client = openai.OpenAI(
        base_url=f"http://127.0.0.1:{free_port()}/v1", api_key="any", max_retries=0, timeout=5
    )
    with pytest.raises(openai.APIConnectionError) as caught:
        client.models.list()
    err = llms.explain(caught.value)
    assert str(err) == "cannot reach the server: is it running, and is base_url right?"
    with using("zh_CN"):
        assert explain(err) == "无法连接服务器：它是否在运行？base_url 是否正确？"


def test_a_model_that_cannot_be_built_says_why_in_chinese(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(llms.LLMError) as no_key:
        llms.build_chat_model(OpenAIProfile())
    missing = tmp_path / "mine.gguf"
    with pytest.raises(llms.LLMError) as no_file:  # its hint is a message of its own
        llms.build_chat_model(LlamaCppProfile(model_path=missing))
    assert str(no_key.value).startswith("no OpenAI API key: set OPENAI_API_KEY")
    assert str(no_file.value).endswith("; check llm.profiles.<name>.model_path")
    with using("zh_CN"):
        assert explain(no_key.value).startswith("没有 OpenAI API 密钥：请设置 OPENAI_API_KEY")
        assert explain(no_file.value) == (
            f"找不到本地模型文件：{missing}；请检查 llm.profiles.<name>.model_path"
        )


def test_a_damaged_office_file_is_named_in_chinese(tmp_path: Path) -> None:
    renamed = tmp_path / "report.docx"
    renamed.write_text("not a zip archive", encoding="utf-8")
    with (
        pytest.raises(LoaderError) as caught,
        reading_office_file(renamed, "Word document", ".doc"),
    ):
        pass
    assert str(caught.value).startswith("not a valid Word document (not a zip archive")
    with using("zh_CN"):
        assert explain(caught.value).startswith("不是有效的 Word 文档（不是 zip 压缩包")


def test_a_reason_from_the_loader_process_keeps_its_nested_message(tmp_path: Path) -> None:
    """The loader runs in a worker process (loaders.isolation): what it raises comes back as a
    message id with its parameters, a nested one ("Word document") still translatable."""
    renamed = tmp_path / "report.docx"
    renamed.write_text("not a zip archive", encoding="utf-8")
    with IsolatedLoader(IngestSettings()) as loader, pytest.raises(LoaderError) as caught:
        loader.load(renamed, "report.docx")
    with using("zh_CN"):
        assert "Word 文档" in explain(caught.value)


def test_the_apps_choices_keep_their_values_and_are_shown_by_name() -> None:
    with using("zh_CN"):
        mode, translate = named(MODE_NAMES), named(TRANSLATE_NAMES)
    assert mode("bm25") == "BM25（关键词）" and translate("auto") == "自动（语言不同时）"
    assert mode("unheard of") == "unheard of"  # a value without a name is shown as itself
    with using("en"):
        assert named(MODE_NAMES)("hybrid") == "hybrid (meaning + keywords)"


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


def test_an_ingest_failure_is_reported_in_the_readers_language(tmp_path: Path) -> None:
    """ingest.py's report names a file that failed with the loader's reason, translated."""
    failed = LoaderError(N_("looks like a binary file (NUL bytes), not text"))
    report = IngestReport(outcomes=[FileOutcome.failed("notes.txt", failed)])
    with using("zh_CN"):
        assert "二进制" in format_report(report, tmp_path)
    assert "binary file" in format_report(report, tmp_path)
