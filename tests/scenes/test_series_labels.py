"""series.yaml's labels:, signing: and licenses: (defaults, values, one-line errors)."""

from __future__ import annotations

import pytest

from reskin.core.errors import ReskinError
from reskin.scenes.series import LabelSettings, load_series


def series(tmp_path, extra: str):
    (tmp_path / "series.yaml").write_text(f"name: s\n{extra}")
    return load_series(tmp_path)


def error(tmp_path, extra: str) -> str:
    with pytest.raises(ReskinError) as err:
        series(tmp_path, extra)
    msg = err.value.one_line()
    assert "\n" not in msg
    return msg


def test_defaults_label_stylized_output_in_chinese(tmp_path):
    s = series(tmp_path, "")
    assert s.labels == LabelSettings() and s.labels.wording == "AI生成"
    assert s.explicit_label  # the default stylizer (toon) stylizes
    assert s.signing is None and s.licenses.allow is None
    assert not series(tmp_path, "style: {stylizer: none}\n").explicit_label
    assert series(tmp_path, "style: {stylizer: none}\nlabels: {explicit: true}\n").explicit_label


def test_label_signing_and_licence_values_are_read(tmp_path):
    (tmp_path / "keys").mkdir()
    for name in ("c.pem", "k.pem"):
        (tmp_path / "keys" / name).write_text("-----BEGIN X-----\n")
    s = series(tmp_path, "labels: {language: en, seconds: 3, size: 0.06, position: bottom-left,"
                         " corner_mark: true, producer: 夜班工作室}\n"
                         "signing: {cert: keys/c.pem, key: keys/k.pem, alg: ps256}\n"
                         "licenses: {allow: [CC0-1.0, CC-BY-4.0]}\n")
    assert s.labels.wording == "AI-generated" and s.labels.seconds == 3.0
    assert s.labels.position == "bottom-left" and s.labels.corner_mark
    assert s.labels.producer == "夜班工作室"
    assert s.signing.cert == tmp_path / "keys" / "c.pem" and s.signing.alg == "ps256"
    assert s.licenses.allow == ("CC0-1.0", "CC-BY-4.0")
    assert series(tmp_path, "labels: {text: 人工智能生成}\n").labels.wording == "人工智能生成"


def test_what_the_standard_forbids_is_refused_in_one_line(tmp_path):
    msg = error(tmp_path, "labels: {size: 0.03}\n")
    assert "series.yaml:2: labels.size" in msg and "5%" in msg
    assert "labels.seconds" in error(tmp_path, "labels: {seconds: 1}\n")
    assert "labels.position" in error(tmp_path, "labels: {position: middle}\n")
    assert "labels.explicit" in error(tmp_path, "labels: {explicit: sometimes}\n")
    assert "labels.colour" in error(tmp_path, "labels: {colour: red}\n")


def test_bad_signing_and_licences_are_one_line(tmp_path):
    assert "signing.cert" in error(tmp_path, "signing: {cert: nowhere.pem, key: k.pem}\n")
    assert "signing.key" in error(tmp_path, "signing: {cert: series.yaml}\n")
    assert "licenses.allow" in error(tmp_path, "licenses: {allow: [CC0-1.0, {a: b}]}\n")
    assert "licenses.allow" in error(tmp_path, "licenses: {allow: CC0-1.0}\n")
