"""The leaderboard pages in a real browser: nothing overflows the main column, at a
desktop's 1400 px and a phone's 390 px, and long cell text wraps instead of scrolling.

One headless Chromium session opens a report built from the small fixtures, a page with
long architecture strings, and every committed ``reports/*.html``; screenshots of each
page at each width are saved under pytest's ``tmp_path``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import write_results

from nasbench.reporting.leaderboard import write_report
from nasbench.reporting.leaderboard.document import Document, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
REPORTS = Path(__file__).resolve().parent.parent / "reports"
WIDTHS = (1400, 390)
#: An architecture string of the 7-op, 5-node space: far wider than a phone, with no space to break at.
LONG_ARCH = (
    "|"
    + "|+|".join("|".join(f"sep_conv_3x3~{source}" for source in range(target)) for target in range(1, 5))
    + "|"
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)

#: Elements of the main column that stick out of it, ignoring what a scroll box clips
#: (a wide table scrolls inside its own box on a phone) and what is not displayed.
_OVERFLOWING = """
const column = document.querySelector('main') || document.body;
const box = column.getBoundingClientRect();
const clipped = el => {
  for (let node = el.parentElement; node && node !== column; node = node.parentElement) {
    if (getComputedStyle(node).overflowX !== 'visible') return true;
  }
  return false;
};
const out = [];
for (const el of column.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if ((r.left < box.left - 1 || r.right > box.right + 1) && !clipped(el)) {
    out.push(`${el.tagName} ${Math.round(r.left)}..${Math.round(r.right)} ${el.id || el.className}`);
  }
}
return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        column: [Math.round(box.left), Math.round(box.right)], out: out.slice(0, 10)};
"""

#: Tables whose content is wider than their box (they would show a scrollbar).
_SCROLLING_TABLES = """
return Array.from(document.querySelectorAll('main table'))
  .filter(t => t.scrollWidth > t.clientWidth + 1)
  .map(t => t.querySelector('th') ? t.querySelector('th').textContent : '?');
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for every page of this module (launched as tests/test_report.py does)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={tmp_path_factory.mktemp('profile')}", "--window-size=1400,1000",
    ):  # fmt: skip
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Pages the current code writes: the fixtures' report, and a table of long architecture strings."""
    folder = tmp_path_factory.mktemp("pages")
    fabricated = write_results(folder / "results")
    report = write_report(fabricated.directory, folder / "leaderboard")[0]
    document = Document()
    document.heading(1, "Long cells")
    document.table(
        ("table", "strategy", "runs ok / total", "test acc % (mean ± sd)", "most frequent result"),
        [("nb201-7op", name, "3 / 3", "93.12 ± 0.40", f"{LONG_ARCH} (2x)") for name in ("darts", "gdas")],
        (False, False, True, True, False),
    )
    document.paragraph(f"The same string in a sentence: {LONG_ARCH}.")
    long_cells = folder / "long-cells.html"
    long_cells.write_text(render_html(document, document.title), encoding="utf-8")
    return [report, long_cells]


def _show(driver: Any, page: Path, width: int) -> None:
    """Load ``page`` in a viewport ``width`` CSS pixels wide (a phone's below 600)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get(page.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def _check_page(driver: Any, page: Path, width: int, shots: Path) -> dict[str, Any]:
    _show(driver, page, width)
    driver.save_screenshot(str(shots / f"{page.stem}-{width}.png"))
    found = driver.execute_script(_OVERFLOWING)
    # a phone zooms out to fit content wider than its screen, so innerWidth grows with it
    assert found["scroll"] <= width and found["inner"] == width, (page.name, width, found)
    assert found["out"] == [], (page.name, width, found)
    return found


def test_generated_pages_fit_the_column_and_long_cells_wrap(
    driver: Any, generated: list[Path], tmp_path: Path
) -> None:
    for page in generated:
        for width in WIDTHS:
            _check_page(driver, page, width, tmp_path)
            if width >= 1000:  # on a desktop no table needs a scrollbar
                assert driver.execute_script(_SCROLLING_TABLES) == [], (page.name, width)
    _show(driver, generated[1], 1400)
    cell = driver.execute_script(
        "const td = Array.from(document.querySelectorAll('td')).find(c => c.textContent.includes('(2x)'));"
        "const line = parseFloat(getComputedStyle(td).lineHeight) || 16;"
        "return {lines: td.getBoundingClientRect().height / line, kind: td.className};"
    )
    assert cell["kind"] == "code" and cell["lines"] > 1.5  # wrapped, not clipped behind a scrollbar
    _show(driver, generated[0], 390)  # figures: drawn for print, shrunk to a phone's column
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.naturalWidth, i.getBoundingClientRect().width])"
    )
    assert images and all(natural >= 1000 and 0 < shown <= 390 for natural, shown in images), images


@pytest.mark.parametrize("name", sorted(path.name for path in REPORTS.glob("*.html")))
def test_committed_reports_fit_the_column(driver: Any, name: str, tmp_path: Path) -> None:
    """Every committed page; one written by the current renderer (its column is a <main>)
    also needs no table scrollbar on a desktop."""
    for width in WIDTHS:
        _check_page(driver, REPORTS / name, width, tmp_path)
        if width >= 1000 and driver.execute_script("return document.querySelector('main') !== null"):
            assert driver.execute_script(_SCROLLING_TABLES) == [], (name, width)
