"""Under CI=true a skipped test or module fails the run; elsewhere it stays a skip."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

def test_needs_blender():
    pytest.importorskip("no_such_module_reskin_test")

def test_runs():
    assert True
"""


@pytest.mark.parametrize(("ci", "expect"), [("true", {"failed": 1, "passed": 1}),
                                            ("", {"skipped": 1, "passed": 1})])
def test_a_skip_fails_only_under_ci(pytester, monkeypatch, ci, expect):
    monkeypatch.setenv("CI", ci)
    pytester.makepyfile(test_skipping=SKIPPING)
    result = pytester.runpytest_inprocess("-p", "tests.strict_ci")
    result.assert_outcomes(**expect)
    if ci:
        result.stdout.fnmatch_lines(["*skipped under CI=true*no_such_module_reskin_test*"])


def test_a_module_level_skip_fails_under_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_mod='import pytest\npytest.importorskip("no_such_module_x")\n'
                                 "def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "tests.strict_ci")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*module skipped under CI=true*no_such_module_x*"])
