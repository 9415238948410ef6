"""End to end in a real browser: `streamlit run app.py` on 127.0.0.1, driven by Debian's
Chromium through chromedriver (Selenium), as `tests/support/browser.py` starts them.
Screenshots go to the test's output folder and, with RAGCHAT_SCREENSHOTS=DIR, to DIR too (the
documentation's pictures come from there)."""

from __future__ import annotations

import contextlib
import gc
import shutil
import time
from pathlib import Path

import pytest

from tests.support.browser import AVAILABLE, MISSING, app_server, chromium, save_screenshot
from tests.support.cjk_pdf import write_cjk_pdf
from tests.support.paths import MODEL, SAMPLE_DIR
from tests.support.processes import ingest_cli

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=MISSING)]


@pytest.fixture
def app_url(tmp_path):
    """The app on a free port with the sample notes indexed in a temporary folder."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{tmp_path / "docs"}"\nindex = "{tmp_path / "index"}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{MODEL}"\n',
        encoding="utf-8",
    )
    shutil.copytree(SAMPLE_DIR, tmp_path / "docs")
    ingest_cli(config)
    with app_server(config, tmp_path) as url:
        yield url


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


def compact(text: str) -> str:
    """Text without whitespace: the page wraps and collapses it differently in each place."""
    return "".join(text.split())


def open_in_viewer(browser, wait, button) -> tuple[str, str]:
    """Click a viewer button; the highlighted sentence and the marked passage of its dialog,
    after checking the one lies in the other. The button is clicked again whenever no dialog
    is open: a click that lands while the page still moves (an expander opening) is
    intercepted, and a dialog opened while the app still re-runs after the answer is closed
    by that re-run."""
    from selenium.common.exceptions import ElementClickInterceptedException
    from selenium.webdriver.common.by import By

    def shown_mark(driver):
        marks = driver.find_elements(
            By.CSS_SELECTOR, "[data-testid='stDialog'] mark.ragchat-sentence"
        )
        if marks and marks[0].is_displayed():
            return marks[0]
        if not driver.find_elements(By.CSS_SELECTOR, "[data-testid='stDialog']"):
            with contextlib.suppress(ElementClickInterceptedException):
                button.click()
        return False

    mark = wait.until(shown_mark)
    passage = browser.find_element(By.CSS_SELECTOR, "[data-testid='stDialog'] #ragchat-cited")
    sentence, text = mark.text, passage.get_attribute("textContent")
    assert compact(sentence) and compact(sentence) in compact(text)
    return sentence, text


def save_and_index(wait) -> None:
    """Press "Save and index" and wait for the report's last line: the status label says
    "Indexed in" before the report under it is drawn, so waiting for that label races."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait.until(
        ec.element_to_be_clickable((By.XPATH, "//button[.//p[text()='Save and index']]"))
    ).click()
    wait.until(
        ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'The index holds')]"))
    )


def test_ask_in_the_browser_and_see_the_source(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 240)
    browser.get(app_url)
    box = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']"))
    )
    box.send_keys("什么是困惑度？", Keys.ENTER)
    card = wait.until(
        ec.presence_of_element_located(
            (
                By.XPATH,
                "//*[@data-testid='stExpander']//*[contains(text(), 'ngram-language-models.md')]",
            )
        )
    )
    assert "[1]" in card.text
    messages = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")
    assert len(messages) >= 2 and messages[1].text.strip()
    card.click()
    time.sleep(1)
    assert save_screenshot(browser, tmp_path, "chat.png").stat().st_size > 10_000

    cite = wait.until(  # the answer's first citation button, [n]
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[class*='st-key-cite-turn-0-'] button"))
    )
    number = cite.text.strip()
    sentence, passage = open_in_viewer(browser, wait, cite)
    cards = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stExpander']")
    cited = next(c for c in cards if f"{number} " in c.find_element(By.TAG_NAME, "summary").text)
    assert compact(passage) in compact(cited.get_attribute("textContent"))  # card n's passage


def test_upload_gbk_and_corrupt_pdf_in_the_browser(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    gbk = tmp_path / "gbk-note.txt"
    gbk.write_bytes("束搜索每一步保留得分最高的若干候选序列。".encode("gbk"))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nnot really a pdf")
    wait = WebDriverWait(browser, 240)
    browser.get(app_url)
    wait.until(ec.element_to_be_clickable((By.XPATH, "//p[text()='Knowledge base']"))).click()
    upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type='file']")))
    upload.send_keys(f"{gbk}\n{broken}")
    save_and_index(wait)
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "uploads/gbk-note.txt" in page  # added
    assert "uploads/broken.pdf: cannot read PDF" in page  # refused, with its reason
    assert "from 8 files" in page  # the seven notes are still there
    save_screenshot(browser, tmp_path, "knowledge-base.png")


HOSTILE_UPLOADS = [  # (name the browser sends, where it must land under uploads/, or None)
    ("../../etc/passwd", None),
    ("a/../../b.txt", "b.txt"),
    (".bashrc", None),
    ("y" * 300 + ".md", "y" * 197 + ".md"),
    ("invoice\u202etxt.md", "invoicetxt.md"),
]


def test_hostile_upload_names_in_the_browser(app_url, browser, tmp_path):
    """Names no file on disk could have, sent as a browser would: each file lands inside the
    uploads folder under a safe name or is refused, and nothing outside it changes."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    uploads, index = tmp_path / "docs" / "uploads", tmp_path / "index"
    state = tmp_path / ".ragchat"  # the app's own: its conversation history

    def outside() -> list[Path]:  # every file but the uploads, the index, state and the log
        return sorted(
            p
            for p in tmp_path.parent.rglob("*")
            if not any(p.is_relative_to(folder) for folder in (uploads, index, state))
            and p.name != "streamlit.log"
        )

    def choose(names: list[str]) -> None:
        upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type='file']")))
        browser.execute_script(  # a File's name is whatever the page says: the server must cope
            """const [input, names] = arguments;
            const files = new DataTransfer();
            names.forEach((name, i) => files.items.add(new File(["注意力笔记 " + i], name)));
            input.files = files.files;
            input.dispatchEvent(new Event("change", {bubbles: true}));""",
            upload,
            names,
        )

    gc.collect()  # an earlier test's SQLite connection, closed meanwhile, would drop its -wal
    before = outside()
    wait = WebDriverWait(browser, 240)
    browser.get(app_url)
    wait.until(ec.element_to_be_clickable((By.XPATH, "//p[text()='Knowledge base']"))).click()
    choose([name for name, _ in HOSTILE_UPLOADS])
    save_and_index(wait)
    page = browser.find_element(By.TAG_NAME, "body").text
    assert sorted(p.name for p in uploads.iterdir()) == sorted(s for _, s in HOSTILE_UPLOADS if s)
    assert page.count("files are not allowed") == 2  # no suffix ragchat reads: refused at once

    browser.get(app_url)  # a NUL in a name: Streamlit refuses the file before ragchat sees it
    wait.until(ec.element_to_be_clickable((By.XPATH, "//p[text()='Knowledge base']"))).click()
    choose(["evil\x00.txt"])
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'null bytes')]")))
    assert len(list(uploads.iterdir())) == len([s for _, s in HOSTILE_UPLOADS if s])
    assert outside() == before


def test_cited_chinese_pdf_page_in_the_viewer(app_url, browser, tmp_path):
    """A Chinese PDF uploaded, asked about, and its card opened: the page drawn (its embedded
    CJK font) with the cited sentence highlighted, beside the page's text (the documentation's
    picture)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    pdf = write_cjk_pdf(tmp_path / "training-notes.pdf")
    wait = WebDriverWait(browser, 240)
    browser.get(app_url)
    wait.until(ec.element_to_be_clickable((By.XPATH, "//p[text()='Knowledge base']"))).click()
    upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type='file']")))
    upload.send_keys(str(pdf))
    save_and_index(wait)
    browser.find_element(By.XPATH, "//p[text()='Chat']").click()
    box = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']"))
    )
    box.send_keys("梯度裁剪怎样防止梯度爆炸？", Keys.ENTER)
    title = wait.until(
        ec.presence_of_element_located(
            (By.XPATH, "//*[@data-testid='stExpander']//*[contains(text(), 'training-notes.pdf')]")
        )
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", title)
    title.click()
    card = title.find_element(By.XPATH, "ancestor::*[@data-testid='stExpander']")
    button = card.find_element(By.XPATH, ".//button[.//p[text()='Open in document']]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    sentence, _ = open_in_viewer(browser, wait, button)
    assert "梯度" in sentence
    dialog = browser.find_element(By.CSS_SELECTOR, "[data-testid='stDialog']")
    page = wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid='stDialog'] img"))
    )
    assert page.size["height"] > 300  # the drawn page
    assert "Page 1 of 2" in dialog.text
    time.sleep(1)
    save_screenshot(browser, tmp_path, "viewer-pdf.png")
