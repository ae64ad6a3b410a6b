"""Every page in a real browser (Debian's Chromium): nothing leaves the machine, and the text is
readable (issue 14 #19, #20).

The server starts as ``make run`` does (``python -m ui.serve``) on a free port with its own
workspace that holds the demo model, and is first opened at /data (not /): the app's frame
(app.py: navigation by role, sidebar) must run even for a first visit to a page's own URL.

Offline: every request the browser makes — documents, scripts, fonts, icons, the favicon — must go
to the app's own host and port; anything else is recorded, refused, and fails the test.
Accessibility, on every page at 1400 px: caption, label and help text (and chart ticks) at
least 4.5:1 against their background (WCAG AA), every <img> with a non-empty alt text, and no
table header cell clipped. A failure saves a screenshot of the page to test-artifacts/.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browsertools import (
    ARTIFACTS,
    PAGE_TIMEOUT_MS,
    app_server,
    chromium,
    requires_chromium,
    wait_ready,
)

DEMO_TIMEOUT_MS = 240_000
WIDTH, HEIGHT = 1400, 900
# (sidebar link, the page's heading), in the sidebar's order; the demo account is an admin.
PAGES = [
    ("Home", "Clinician deep-learning dashboard"),
    ("Data", "Data"),
    ("Train", "Train"),
    ("Models", "Models"),
    ("Predict", "Predict"),
    ("Explain", "Explain"),
    ("Evaluate", "Evaluate"),
    ("Review", "Review"),
    ("Learn", "Learn"),
    ("Administration", "Administration"),
]
# The frame and Home are fixed here; the other pages' defects are reported by their own tests
# (they are other people's work in progress): listed here, a failure on them is an expected one.
KNOWN: dict[tuple[str, str], str] = {}
MIN_CONTRAST = 4.5

pytestmark = requires_chromium


# The demo model, trained for 3 epochs before the server starts: the pages that show a model need
# one, and training it at boot to early stopping (the 60-epoch demo spec) took ~30 s of this
# module; the boot's own training of the demo model is test_main_flow's.
DEMO_MODEL = """
from dlcore.data.catalog import load_dataset
from dlcore.governance.accounts import SYSTEM_ACCOUNT
from dlcore.training.demo_models import DEMO_MODEL_NAMES, DEMO_SPECS, ensure_demo_datasets
from dlcore.training.pipeline import train_and_register

spec = DEMO_SPECS["breast_cancer"]
spec.epochs = 3
train_and_register(load_dataset(ensure_demo_datasets()["breast_cancer"]), spec,
                   name=DEMO_MODEL_NAMES["breast_cancer"], actor=SYSTEM_ACCOUNT)
"""


@pytest.fixture(scope="module")
def server() -> Iterator[dict]:
    """``python -m ui.serve`` on a free port with its own workspace and the demo model (the boot
    finds it there and trains none)."""
    home = Path(tempfile.mkdtemp(prefix="dlcore-offline-"))
    with app_server(home, demo_autotrain=True, serve=True, setup=DEMO_MODEL) as running:
        yield running


def is_local(url: str, port: int) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost") and parts.port == port


# Contrast of text against what is behind it (WCAG 2 relative luminance), blending colours with
# transparency over the nearest opaque background; the element's own opacity counts too.
MEASURE = """
([selectors, minimum]) => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (fg, bg) => [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat([1]);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const found = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      const rect = el.getBoundingClientRect();
      if (!rect.width || !rect.height || !(el.textContent || "").trim()) continue;
      const style = getComputedStyle(el);
      const isSvg = el instanceof SVGElement;
      const fg = parse(isSvg ? style.fill : style.color);
      if (!fg) continue;
      fg[3] *= opacity(el);
      const bg = background(isSvg ? el.closest("div") : el);
      const a = lum(over(fg, bg)), b = lum(bg);
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < minimum) found.push({selector, text: el.textContent.trim().slice(0, 60),
        color: isSvg ? style.fill : style.color, ratio: Math.round(ratio * 100) / 100});
    }
  }
  return found;
}
"""
TEXT_SELECTORS = [
    "[data-testid=stCaptionContainer]",
    "[data-testid=stCaptionContainer] *",
    "[data-testid=stWidgetLabel] p",
    "[data-testid=stMetricLabel] p",
    "[data-testid=stMetricDelta] div",
    "[data-testid=stSidebarNavLink] span",
    "[data-testid=stTooltipHoverTarget] svg",
    "small",
    ".js-plotly-plot .xtick text",
    ".js-plotly-plot .ytick text",
    ".js-plotly-plot .g-xtitle text",
    ".js-plotly-plot .g-ytitle text",
    ".js-plotly-plot .legendtext",
]
IMAGES_WITHOUT_ALT = """
() => [...document.querySelectorAll("img")]
  .filter((img) => !(img.getAttribute("alt") || "").trim())
  .map((img) => (img.getAttribute("src") || "").slice(0, 80))
"""
CLIPPED_HEADERS = """
() => [...document.querySelectorAll("th, [role=columnheader]")]
  .filter((th) => th.clientWidth > 0 && th.scrollWidth > th.clientWidth + 1)
  .map((th) => `${(th.textContent || "").trim().slice(0, 40)} (${th.scrollWidth} > ${th.clientWidth})`)
"""


@pytest.fixture(scope="module")
def visited(server) -> dict:
    """Open /data first, then every page from the sidebar; what each page showed and requested."""
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import expect

    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    outside: list[str] = []
    found: dict = {"outside": outside, "pages": {}, "first_visit": {}}
    with chromium() as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})

        def guard(route) -> None:  # record and refuse anything not for the app itself
            if is_local(route.request.url, server["port"]):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        context.on(
            "request", lambda r: None if is_local(r.url, server["port"]) else outside.append(r.url)
        )
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        try:
            # A first visit to a page's own URL still runs the frame (pages-folder mode stopped).
            page.goto(f"{server['url']}/data")
            wait_ready(page)
            expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
            sidebar = page.locator("[data-testid=stSidebar]")
            found["first_visit"] = {
                "frame": sidebar.get_by_text("Working on").count() > 0,
                "navigation": [  # each link's text is its icon's name, then its title
                    t.strip().splitlines()[-1].strip()
                    for t in page.locator("[data-testid=stSidebarNav] a").all_inner_texts()
                ],
            }
            page.goto(server["url"])
            wait_ready(page)
            expect(
                page.get_by_text(re.compile(r"The demo model .* is ready \(test"))
            ).to_be_visible(timeout=DEMO_TIMEOUT_MS)
            wait_ready(page)
            for link, heading in PAGES:
                page.locator("[data-testid=stSidebarNav]").get_by_role(
                    "link", name=link, exact=True
                ).click()
                expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
                wait_ready(page)
                page.wait_for_timeout(300)  # charts draw after the script has finished
                found["pages"][link] = {
                    "low_contrast": page.evaluate(MEASURE, [TEXT_SELECTORS, MIN_CONTRAST]),
                    "no_alt": page.evaluate(IMAGES_WITHOUT_ALT),
                    "clipped": page.evaluate(CLIPPED_HEADERS),
                    "icons": page.evaluate(
                        "() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)"
                    ),
                    "resources": page.evaluate(
                        "() => performance.getEntriesByType('resource').map(e => e.name)"
                    ),
                }
                if any(found["pages"][link][k] for k in ("low_contrast", "no_alt", "clipped")):
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(
                        path=str(ARTIFACTS / f"accessibility-{link.lower()}.png"), full_page=True
                    )
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "offline-failure.png"), full_page=True)
            (ARTIFACTS / "offline-server.log").write_bytes(server["log"].read_bytes())
            raise
        finally:
            context.close()
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {
        link: {k: v for k, v in seen.items() if k not in ("resources", "icons")}
        for link, seen in found["pages"].items()
    }
    (ARTIFACTS / "accessibility.json").write_text(json.dumps(summary, indent=1))
    return found


def test_a_first_visit_to_a_page_url_runs_the_frame(visited):
    assert visited["first_visit"]["frame"], "pages/data.py ran without app.py's sidebar"
    # the navigation is app.py's (sections and titles), not the pages folder's file names
    assert visited["first_visit"]["navigation"][:2] == ["Home", "Data"]
    assert "Administration" in visited["first_visit"]["navigation"]


def test_nothing_leaves_the_machine(visited, server):
    assert set(visited["pages"]) == {link for link, _ in PAGES}  # every page was opened
    assert visited["outside"] == []
    for link, seen in visited["pages"].items():
        assert [u for u in seen["icons"] if not is_local(u, server["port"])] == [], link
        assert [u for u in seen["resources"] if not is_local(u, server["port"])] == [], link


def check(link: str, kind: str, problems: list) -> None:
    reason = KNOWN.get((link, kind))
    if problems and reason:
        pytest.xfail(f"{link}: {reason}: {problems[:5]}")
    assert problems == [], f"{link}: {problems[:10]} (screenshot in test-artifacts/)"


@pytest.mark.parametrize("link", [link for link, _ in PAGES])
def test_text_contrast_is_at_least_aa(visited, link):
    check(link, "contrast", visited["pages"][link]["low_contrast"])


@pytest.mark.parametrize("link", [link for link, _ in PAGES])
def test_every_image_has_alt_text(visited, link):
    check(link, "alt", visited["pages"][link]["no_alt"])


@pytest.mark.parametrize("link", [link for link, _ in PAGES])
def test_no_table_header_is_clipped(visited, link):
    check(link, "clipped", visited["pages"][link]["clipped"])
