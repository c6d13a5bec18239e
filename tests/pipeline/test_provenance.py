"""Licence policy and credits (pure functions; the build is in test_labels.py)."""

from __future__ import annotations

import pytest

from reskin.core.errors import ReskinError
from reskin.pipeline.provenance import (
    UsedAsset,
    check_licenses,
    credits_text,
    license_allowed,
    license_url,
    needs_attribution,
)
from reskin.scenes.series import LicensePolicy, SeriesConfig


def asset(ref: str, lic: str, own: bool = True, author: str | None = "Ada") -> UsedAsset:
    return UsedAsset(ref=ref, kind="character", version=1, license=lic, author=author,
                     source="https://example.org/x", generator=None, content_hash="0" * 64,
                     used_as="skin", own_license=own)


def test_spdx_expressions_against_the_allow_list():
    allow = ("CC0-1.0", "MIT")
    assert license_allowed("MIT", allow) and not license_allowed("CC-BY-4.0", allow)
    assert license_allowed("CC-BY-4.0 OR MIT", allow)
    assert not license_allowed("CC0-1.0 AND GPL-3.0-only", allow)
    assert license_allowed("(CC0-1.0 AND MIT)", allow)
    assert not license_allowed("NOASSERTION", allow)


def test_the_policy_names_the_first_forbidden_asset_in_one_line(tmp_path):
    series = SeriesConfig(root=tmp_path, name="s",
                          licenses=LicensePolicy(allow=("CC0-1.0",), where="series.yaml:7"))
    ok = [asset("a@1", "CC0-1.0"), asset("b@1", "GPL-3.0-only", own=False)]
    check_licenses(series, ok, "ep01")  # inherited licences were judged at their source
    with pytest.raises(ReskinError) as err:
        check_licenses(series, [*ok, asset("c@2", "CC-BY-NC-4.0")], "ep01")
    line = err.value.one_line()
    assert "c@2" in line and "CC-BY-NC-4.0" in line and "series.yaml:7" in line
    check_licenses(SeriesConfig(root=tmp_path, name="s"), [asset("c@2", "x")], "ep01")


def test_credits_attribute_cc_by_assets_with_their_licence_link():
    assert license_url("CC-BY-SA-4.0") == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert license_url("MIT") is None
    assert needs_attribution("CC-BY-4.0") and not needs_attribution("CC0-1.0")
    text = credits_text("Night Shift", "ep01", "Letters",
                        [asset("mira@1", "CC-BY-4.0"), asset("lamp@1", "CC0-1.0")])
    line = next(ln for ln in text.splitlines() if ln.startswith("- mira@1 by Ada"))
    assert "https://creativecommons.org/licenses/by/4.0/" in line and "adapted" in line
    assert not any(ln.startswith("- lamp@1 by") for ln in text.splitlines())
    assert "lamp@1 (character, skin): CC0-1.0" in text
