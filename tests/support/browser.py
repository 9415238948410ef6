"""The app in a real browser: `streamlit run app.py` on a free loopback port, and Debian's
Chromium driven through chromedriver (Selenium), each browser with a profile (and so a cookie
jar) of its own. Screenshots go to the test's folder and, with RAGCHAT_SCREENSHOTS=DIR, to DIR
too (the documentation's pictures come from there)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llms.local_server import free_port
from tests.support.paths import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AVAILABLE = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
MISSING = "Debian's chromium and chromium-driver are not installed (make test installs them)"


@contextmanager
def app_server(config: Path, cwd: Path) -> Iterator[str]:
    """`streamlit run app.py` on `config`, started in `cwd` (its log: `cwd/streamlit.log`);
    yields its URL once it answers, and stops it afterwards."""
    port = free_port()
    with open(cwd / "streamlit.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py")]
            + ["--server.port", str(port), "--server.address", "127.0.0.1"]
            + ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
            + ["--", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


@contextmanager
def chromium(language: str | None = None) -> Iterator[Any]:
    """A headless Chromium with a fresh profile of its own (a selenium WebDriver); `language`
    ("zh-CN") is the browser's own, as a person's browser set to it sends it to the app."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="ragchat-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    if language:
        options.add_argument(f"--lang={language}")
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def save_screenshot(driver: Any, folder: Path, name: str) -> Path:
    """The page as `folder/name`, copied to RAGCHAT_SCREENSHOTS when that is set."""
    path = folder / name
    driver.save_screenshot(str(path))
    if extra := os.environ.get("RAGCHAT_SCREENSHOTS"):
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path
