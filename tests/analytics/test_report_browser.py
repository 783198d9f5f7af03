"""The HTML report in a real headless Chromium (Debian's, via selenium + chromedriver): it loads from
a file with no network, logs no console errors, and shows its four charts."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bot.analytics.report import build_report, write_report
from tests.analytics.seed import SINCE, UNTIL, seed
from tests.browser import headless_chromium, requires_browser

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = requires_browser
CHARTS = ("chart-daily", "chart-reasons", "chart-csat", "chart-cost")


@pytest.fixture
def browser() -> Iterator["webdriver.Chrome"]:
    with headless_chromium("1200,900", browser_log=True) as driver:
        yield driver


def test_report_renders_with_its_charts(tmp_path: Path, browser) -> None:
    urls = seed(tmp_path)
    paths = write_report(build_report(SINCE, UNTIL, urls["tracker_db"], urls["db"], progress=False),
                         tmp_path / "report.html")
    browser.get(paths["html"].as_uri())
    assert browser.title == "Brightbay support metrics"
    for chart in CHARTS:
        image = browser.find_element(By.ID, chart)
        width = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
        assert width and width > 200, f"{chart} did not render"
        assert image.is_displayed()
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Containment rate" in text and "55.6% (5)" in text
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    # Nothing loaded from anywhere but the page itself.
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert [r for r in resources if not r.startswith("data:")] == []
