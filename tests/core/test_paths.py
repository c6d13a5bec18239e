"""The one path rule: inside the series folder (symlinks resolved) or a pinned library ref."""

from __future__ import annotations

import os

import pytest

from reskin.core.errors import ReskinError
from reskin.core.fields import load_yaml
from reskin.core.paths import series_path


def _fields(tmp_path, value: str):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"mesh: {value!r}\n")
    return load_yaml(spec)


def _resolve(tmp_path, value: str, **kw):
    f = _fields(tmp_path, value)
    return series_path(tmp_path / "s", f.get("mesh", str), fields=f, key="mesh", **kw)


@pytest.fixture
def tmp(tmp_path):
    (tmp_path / "s" / "models").mkdir(parents=True)
    (tmp_path / "s" / "models" / "hat.glb").write_bytes(b"glTF")
    (tmp_path / "outside.glb").write_bytes(b"glTF")
    return tmp_path


def test_inside_is_resolved(tmp):
    assert _resolve(tmp, "models/hat.glb") == (tmp / "s" / "models" / "hat.glb").resolve()
    assert _resolve(tmp, "models/../models/hat.glb").name == "hat.glb"


@pytest.mark.parametrize("value", ["/etc/passwd", "../outside.glb", "models/../../outside.glb"])
def test_escaping_is_refused_in_one_line(tmp, value):
    with pytest.raises(ReskinError) as err:
        _resolve(tmp, value)
    line = str(err.value)
    assert "\n" not in line and "spec.yaml:1: mesh: " in line and "outside the series" in line


def test_symlink_out_is_refused(tmp):
    os.symlink(tmp / "outside.glb", tmp / "s" / "models" / "link.glb")
    with pytest.raises(ReskinError, match="outside the series folder"):
        _resolve(tmp, "models/link.glb")


def test_asset_refs_must_be_allowed_and_pinned(tmp):
    assert _resolve(tmp, "asset:hat@2", allow_asset=True) == "asset:hat@2"
    with pytest.raises(ReskinError, match="pin the asset version"):
        _resolve(tmp, "asset:hat", allow_asset=True)
    with pytest.raises(ReskinError, match="not a library asset"):
        _resolve(tmp, "asset:hat@2")


def test_missing_and_nul_are_refused(tmp):
    with pytest.raises(ReskinError, match="file not found: models/none.glb"):
        _resolve(tmp, "models/none.glb")
    f = _fields(tmp, "x")
    with pytest.raises(ReskinError, match="NUL"):
        series_path(tmp / "s", "a\x00b", fields=f, key="mesh")
