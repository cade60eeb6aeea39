"""The try-it page in headless Chromium (Debian's `chromium`): type, click, get playable audio."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.service.conftest import LiveServer, live_server, make_settings

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (install Debian's: apt-get install -y chromium)"),
]


def test_page_speaks(server: LiveServer) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            page.wait_for_function("document.querySelector('#voice').options.length > 0")
            assert "up to 200 characters" in page.inner_text("#engine")
            assert "zh" in page.inner_text("#engine")
            page.fill("#text", "你好，欢迎使用语音合成服务。")
            assert page.inner_text("#counter") == "14/200"
            page.select_option("#format", "wav")
            page.click("#speak")
            page.wait_for_function("document.querySelector('#status').textContent.startsWith('Done')", timeout=20000)
            # Playable: the browser decoded the result and knows its duration.
            page.wait_for_function("document.querySelector('#player').readyState >= 1", timeout=20000)
            duration = page.evaluate("document.querySelector('#player').duration")
            assert 1.0 < duration < 10.0
            assert page.get_attribute("#download", "download") == "speech.wav"

            page.fill("#text", "[QQ]")
            page.click("#speak")
            page.wait_for_function("document.querySelector('#status').classList.contains('error')", timeout=20000)
            assert "(text)" in page.inner_text("#status")
            assert "QQ" in page.inner_text("#status")
        finally:
            browser.close()


def test_page_sends_the_api_key_where_the_service_requires_one(tmp_path: Path) -> None:
    """A key-protected service: the page says a key is needed, then works once the key is entered."""
    from playwright.sync_api import sync_playwright

    key = "k" * 32
    settings = make_settings(engine="espeak", voices_dir=tmp_path / "voices", api_keys=[key])
    with live_server(settings) as protected, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(protected.url + "/")
            page.wait_for_function("document.querySelector('#status').classList.contains('error')", timeout=20000)
            assert "API key" in page.inner_text("#status")
            page.fill("#api_key", key)
            page.dispatch_event("#api_key", "change")
            page.wait_for_function("document.querySelector('#voice').options.length > 0", timeout=20000)
            page.fill("#text", "Hello from behind an API key.")
            page.select_option("#format", "wav")
            page.click("#speak")
            page.wait_for_function("document.querySelector('#status').textContent.startsWith('Done')", timeout=20000)
            assert page.evaluate("sessionStorage.getItem('voicefleet-api-key')") == key
        finally:
            browser.close()
