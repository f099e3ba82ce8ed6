"""`calcgrad serve`'s status page in headless Chromium: the figures an instructor reads."""

from __future__ import annotations

import pytest

import browser_support as bs
from calcgrad.serve import status

pytestmark = pytest.mark.skipif(bs.chromium_missing() is not None,
                                reason=bs.chromium_missing() or "")


def test_status_page_in_chromium():
    stats = status.Stats()
    stats.set_queue(4)
    for seconds in (0.8, 1.2, 3.0):
        stats.graded_one(seconds)
    stats.error("ps1_calculus/eve<img src=x onerror=alert(1)>", "status tampering suspected")
    stats.set_held({"ps1_calculus/gil": 2_000_000_000.0})
    server = status.serve_status(stats, 0)  # a free port
    try:
        with bs.browser() as chromium:
            page = chromium.new_page()
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/", timeout=60_000)
            assert page.inner_text("#queue") == "1"  # 4 waiting, 3 graded since
            assert page.inner_text("#graded") == "3"
            assert page.inner_text("#p50") == "1.20 s"
            assert page.inner_text("#p95") == "3.00 s"
            errors = page.inner_text("#errors")
            assert "tampering suspected" in errors and "<img" in errors  # shown, as text
            assert page.locator("#errors img").count() == 0 and not dialogs
            assert "ps1_calculus/gil" in page.inner_text("#held")
            page.close()
    finally:
        server.shutdown()
        server.server_close()
