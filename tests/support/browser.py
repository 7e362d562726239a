"""Drive and read a dashboard page in headless Chromium: what every dashboard e2e module shares.

Why a module of its own: tests/e2e/test_dashboard_e2e.py, test_dashboard_push_e2e.py and
test_dashboard_views_e2e.py all wait on the page, read element text and the dashboard's status endpoint,
and check the browser's network log for poll requests; one copy here instead of test modules importing
each other's private helpers. Times are in seconds; waits raise AssertionError so a timeout fails the test
(with what was awaited and the last value seen), and none asserts how long anything took.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

SHOTS = Path(__file__).resolve().parents[1] / "e2e" / "screenshots"  # gitignored
DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"  # shown in docs/dashboard.md

# JS: the plotly graph div of a dcc.Graph, by the Graph's id (null while it is not rendered).
GD = "(function(id){const el=document.getElementById(id); if(!el) return null; " \
     "return el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot');})"


def wait_until(what: str, fn, timeout_s: float, interval_s: float = 0.5):
    """``fn()``'s first truthy result, polled every ``interval_s`` s; fails the test after ``timeout_s`` s."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as exc:  # stale elements while the page re-renders: try again
            last = exc
        else:
            if last:
                return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


def save_screenshot(driver, name: str) -> Path:
    """The page as ``SHOTS/<name>.png``, for a person to look at; returns its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def element_text(driver, id_: str) -> str | None:
    """The ``textContent`` of the element with id ``id_``, or None while it is not on the page."""
    return driver.execute_script(f"const e=document.getElementById('{id_}'); return e ? e.textContent : null;")


def update_posts(driver) -> list[str]:
    """Callback requests (polls) the page made since the last call, from the browser's own network log."""
    out = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent" and "_dash-update-component" in msg["params"]["request"]["url"]:
            out.append(msg["params"]["request"]["method"])
    return out
