"""The interface's language in a real browser: Chromium started with `--lang=zh-CN` gets the
Chinese app on its first page, with `--lang=en-US` the English one (one app server for both, the
sample notes indexed). The Chinese chat page, answered, is the documentation's screenshot
(docs/screenshots/chat-zh.png, with RAGCHAT_SCREENSHOTS=docs/screenshots)."""

from __future__ import annotations

import pytest

from tests.support.browser import AVAILABLE, MISSING, app_server, chromium, save_screenshot
from tests.support.paths import MODEL, SAMPLE_DIR
from tests.support.processes import ingest_cli

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=MISSING)]

CHAT_INPUT = "[data-testid='stChatInputTextArea']"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app on a free port with the sample notes indexed, for the module's two browsers."""
    folder = tmp_path_factory.mktemp("app-i18n")
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{SAMPLE_DIR}"\nindex = "{folder / "index"}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{MODEL}"\n',
        encoding="utf-8",
    )
    ingest_cli(config)
    with app_server(config, folder) as url:
        yield url


def _first_page(browser, url: str):
    """The chat box once the first page is drawn, and a wait for what comes next."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 240)
    browser.get(url)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, CHAT_INPUT)))
    return box, wait


def test_a_chinese_browser_gets_the_chinese_interface_on_first_load(app_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec

    with chromium("zh-CN") as browser:
        box, wait = _first_page(browser, app_url)
        assert box.get_attribute("placeholder") == "就你的文档提问…"
        sidebar = browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
        assert "新对话" in sidebar and "知识库" in sidebar and "对话记录" in sidebar
        box.send_keys("什么是困惑度？", Keys.ENTER)
        wait.until(ec.presence_of_element_located((By.XPATH, "//*[text()='来源']")))
        wait.until(  # the answer is finished when its cards can be opened in their document
            ec.presence_of_element_located((By.XPATH, "//button[.//p[text()='在文档中打开']]"))
        )
        wait.until(  # the run after the answer is over: the toolbar's running man is gone
            ec.invisibility_of_element_located((By.CSS_SELECTOR, "[data-testid='stStatusWidget']"))
        )
        assert save_screenshot(browser, tmp_path, "chat-zh.png").stat().st_size > 10_000


def test_an_english_browser_gets_the_english_interface(app_url):
    from selenium.webdriver.common.by import By

    with chromium("en-US") as browser:
        box, _ = _first_page(browser, app_url)
        assert box.get_attribute("placeholder") == "Ask about your documents…"
        sidebar = browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
        assert "New chat" in sidebar and "新对话" not in sidebar
