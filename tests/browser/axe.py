"""Accessibility and layout checks for the browser tests: axe-core and page-width screenshots.

- ``assert_accessible(page)`` runs axe-core (bundled by the ``axe-playwright-python`` package, so no
  Node is needed) in the page as it stands and fails on any *serious* or *critical* violation,
  listing each rule, its help text and the first elements it names.
- ``assert_fits(page)`` fails when the page's content is wider than the viewport (a table or a long
  word widening the page instead of scrolling inside its own container).
- ``shoot(page, name)`` takes full-page screenshots at 1280 px and 390 px when the environment
  variable ``LEGIONARY_SCREENSHOTS`` names a folder (nothing is written otherwise), checking at each
  width that the page fits and is accessible.

axe is injected with Playwright's ``evaluate`` (the DevTools protocol), which the page's
Content-Security-Policy does not govern, so it raises no CSP violation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Page

BLOCKING = frozenset({"serious", "critical"})
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def axe_violations(page: Page, *, impacts: frozenset[str] = BLOCKING) -> list[dict[str, Any]]:
    """axe-core's violations on the current page whose impact is in ``impacts``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
        lines.append(f"- {v['impact']}: {v['id']}: {v['help']} — {targets}{more}")
    return "\n".join(lines)


def assert_accessible(page: Page, what: str = "") -> None:
    """Fails on any serious or critical axe-core violation on the page as it is now."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {what or page.url}:\n{describe(violations)}"


def overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when it fits)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


# The elements reaching past the viewport's right edge, outermost first, leaving out those inside a region
# that scrolls (or clips) on its own: what widens the page.
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter((e) => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (["auto", "scroll", "hidden"].includes(getComputedStyle(a).overflowX)) return false; } return true; })
  .slice(0, 5)
  .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${[...e.classList].join(".")}`
    + ` (right edge ${Math.round(e.getBoundingClientRect().right)}px)`)"""


def assert_fits(page: Page, what: str = "") -> None:
    extra = overflow(page)
    if extra > 0:
        widest = "; ".join(page.evaluate(WIDEST))
        raise AssertionError(f"{what or page.url} is {extra}px wider than the {page.viewport_size} viewport: {widest}")


def screenshot_folder() -> Path | None:
    folder = os.environ.get("LEGIONARY_SCREENSHOTS", "").strip()
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shoot(page: Page, name: str, *, check: bool = True) -> list[Path]:
    """At 1280 px and at 390 px: checks the page fits and is accessible, and takes a full-page
    screenshot of each into ``$LEGIONARY_SCREENSHOTS`` (when set). Restores the viewport."""
    original = page.viewport_size
    folder = screenshot_folder()
    taken = []
    try:
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            if check:
                assert_fits(page, f"{name} at {width}px")
                assert_accessible(page, f"{name} at {width}px")
            if folder is not None:
                target = folder / f"{name}-{label}.png"
                page.screenshot(path=str(target), full_page=True)
                taken.append(target)
    finally:
        if original:
            page.set_viewport_size(original)
    return taken
