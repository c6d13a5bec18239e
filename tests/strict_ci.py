"""A pytest plugin: under ``CI=true`` every skip, of a test or a whole module, is a failure."""

from __future__ import annotations

import os

import pytest

# Under CI a skip is a failure: a green CI must mean every test ran (Blender, torch, diffusers,
# Ray and ../shared/data are all installed or present there). Elsewhere a test may skip, and
# says why.


def strict() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if strict() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (every test must run in CI): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if strict() and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"module skipped under CI=true (every test must run in CI): {reason}"
