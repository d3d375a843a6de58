"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def chromium():
    """A headless system-Chromium Browser shared by the session's browser tests (see browser.py).

    Fails with an install hint when Chromium is missing, unless GEO_SPPA_SKIP_BROWSER=1 is set.
    """
    from browser import launch_chromium

    with launch_chromium() as browser:
        yield browser
