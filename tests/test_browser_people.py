"""People in real browsers: `streamlit run app.py` with sign-in on, two Chromium sessions with
cookie jars of their own. Each reader signs in, asks, and sees only their own conversation; a
reader is shown none of the controls that change a knowledge base, nor the Admin page by any
address; a reload keeps the session; after sign-out a reload shows the sign-in form, even with
the old cookie put back. The sign-in page's picture is `docs/screenshots/sign-in.png`
(RAGCHAT_SCREENSHOTS=docs/screenshots)."""

from __future__ import annotations

import shutil

import pytest

from tests.support.browser import AVAILABLE, MISSING, app_server, chromium, save_screenshot
from tests.support.paths import SAMPLE_DIR
from tests.support.people import QUESTIONS, add_people, password, people_config
from tests.support.processes import ingest_cli

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=MISSING)]

COOKIE = "ragchat_session"
WRITE_BUTTONS = ["Save and index", "Remove", "Rebuild the index", "Create", "Rename", "Delete"]
WAIT_S = 240


@pytest.fixture
def people_url(tmp_path):
    """The app with sign-in on over the sample notes (indexed by `ingest.py`), PEOPLE added."""
    shutil.copytree(SAMPLE_DIR, tmp_path / "docs")
    config = people_config(tmp_path, tmp_path / "index", tmp_path / "docs")
    ingest_cli(config)
    add_people(config)
    with app_server(config, tmp_path) as url:
        yield url


def by_text(tag: str, text: str) -> tuple[str, str]:
    """A locator of the `tag` whose own text is `text` (Streamlit wraps labels in <p>)."""
    from selenium.webdriver.common.by import By

    return By.XPATH, f"//{tag}[.//p[text()={text!r}]]"


def sign_in_form(driver):
    """Wait for the sign-in form; its name field."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='Name']"))
    )


def signed_in(driver, name: str) -> None:
    """Wait until the sidebar says `name` is signed in."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(
        ec.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "[data-testid='stSidebar']"), f"Signed in as {name}"
        )
    )


def sign_in(driver, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    sign_in_form(driver).send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "input[aria-label='Password']").send_keys(password(name))
    WebDriverWait(driver, WAIT_S).until(ec.element_to_be_clickable(by_text("button", "Sign in")))
    driver.find_element(*by_text("button", "Sign in")).click()
    signed_in(driver, name)


def ask(driver, question: str) -> None:
    """Ask on the chat page; wait for the answer's source cards and its conversation."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_S)
    box = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']"))
    )
    box.send_keys(question, Keys.ENTER)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stExpander']")))
    wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "[class*='st-key-history-open-'] button"))
    )


def conversations(driver) -> list[str]:
    """The titles the sidebar lists (without the marker of the open one)."""
    from selenium.webdriver.common.by import By

    buttons = driver.find_elements(By.CSS_SELECTOR, "[class*='st-key-history-open-'] button")
    return [button.text.removeprefix("▸ ").strip() for button in buttons]


def test_two_people_in_two_browsers(people_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as rita, chromium() as ron:
        rita.get(people_url)
        sign_in_form(rita)
        assert not rita.find_elements(By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")
        save_screenshot(rita, tmp_path, "sign-in.png")

        browsers = {"rita": rita, "ron": ron}
        for name, driver in browsers.items():
            sign_in(driver, people_url, name)
        for name, driver in browsers.items():
            ask(driver, QUESTIONS[name])
        for name, driver in browsers.items():
            driver.refresh()  # a reload keeps the session
            signed_in(driver, name)
            WebDriverWait(driver, WAIT_S).until(lambda d: conversations(d))
            assert conversations(driver) == [QUESTIONS[name]]  # their own only

        rita.find_element(*by_text("label", "Knowledge base")).click()
        WebDriverWait(rita, WAIT_S).until(
            ec.presence_of_element_located(
                (By.XPATH, "//h1[contains(., 'Knowledge base: default')]")
            )
        )
        WebDriverWait(rita, WAIT_S).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stMetric']"))
        )
        page = rita.find_element(By.TAG_NAME, "body")
        assert not rita.find_elements(By.CSS_SELECTOR, "input[type='file']")
        for label in WRITE_BUTTONS:
            assert not rita.find_elements(*by_text("button", label)), label
        assert "Admin" not in page.text.split()
        assert "Sharing" not in page.text
        for path in ("/Admin", "/?page=Admin"):  # no address leads to what the page hides
            rita.get(people_url + path)
            signed_in(rita, "rita")
            assert "Audit log" not in rita.find_element(By.TAG_NAME, "body").text

        token = rita.get_cookie(COOKIE)["value"]
        rita.find_element(*by_text("button", "Sign out")).click()
        sign_in_form(rita)
        rita.refresh()  # signed out: the reload asks again
        sign_in_form(rita)
        assert rita.get_cookie(COOKIE) is None
        rita.add_cookie({"name": COOKIE, "value": token, "path": "/"})  # a copy kept somewhere
        rita.refresh()
        sign_in_form(rita)
        assert "Signed in as" not in rita.find_element(By.TAG_NAME, "body").text

        ron.refresh()  # the other person's session goes on
        signed_in(ron, "ron")
