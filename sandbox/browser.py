"""Open a local page in headless Chromium (Debian's `chromium` package) through playwright, offline.

Used by the browser test of `timesync report` and by `make screenshot`, which regenerates the README's picture:

    python -m sandbox.browser output/report.html docs/report-screenshot.png

No browser is ever downloaded (`playwright install` is never run): playwright drives the system's Chromium, with a
fresh profile and every background connection off, and any request that is not for a local file is aborted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
VIEWPORT = {"width": 1280, "height": 900}
#: The README's picture: the top of the report (summary, sources, the agreement chart and the differences).
SCREENSHOT_HEIGHT = 1900
LOCAL_SCHEMES = ("file:", "data:", "about:")


def chromium_missing() -> str | None:
    """Why the browser cannot be used here, or None when it can."""
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} is absent: install Debian's `chromium` package (`apt-get install -y chromium`; "
                ".ci/run does)")
    try:
        import playwright.sync_api  # noqa: F401 -- only whether it imports
    except ImportError as exc:
        return f"the playwright package is not installed ({exc}); `make install` installs it"
    return None


@contextmanager
def open_page(path: Path, *, viewport: dict[str, int] | None = None) -> Iterator[tuple[Any, list[str]]]:
    """The page at ``path`` loaded in headless Chromium, and the list of non-local URLs it tried to fetch."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with tempfile.TemporaryDirectory(prefix="timesync-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS),
            viewport=viewport or VIEWPORT, java_script_enabled=False, offline=True)
        try:
            context.route("**/*", only_local)
            page = context.new_page()
            page.goto(path.resolve().as_uri(), wait_until="load")
            yield page, blocked
        finally:
            context.close()


def screenshot(source: Path, target: Path, *, height: int = SCREENSHOT_HEIGHT) -> Path:
    """A PNG of the top ``height`` pixels of the page at ``source``."""
    with open_page(source, viewport={"width": VIEWPORT["width"], "height": height}) as (page, _blocked):
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=False)
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m sandbox.browser PAGE PNG`: write a screenshot of a local page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--height", type=int, default=SCREENSHOT_HEIGHT)
    args = parser.parse_args(argv)
    reason = chromium_missing()
    if reason:
        print(f"screenshot: cannot run Chromium: {reason}", file=sys.stderr)
        return 1
    print(f"wrote {screenshot(args.page, args.png, height=args.height)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
