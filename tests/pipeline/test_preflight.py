"""The dry run reads what the build reads: a garment mesh, texture or music file inside the
series that cannot be read is refused by both, with the same line, before any work."""

from __future__ import annotations

import pytest

from reskin.pipeline.series_init import create_demo
from tests.fuzz.series_cases import build_outcome, dry_outcome


def _wardrobe(root, extra: str) -> None:
    path = root / "cast" / "mira" / "ep01.yaml"
    path.write_text(path.read_text() + extra)


@pytest.mark.parametrize("name, data, extra, words", [
    ("hat.obj", b"v 0 0 0\nf 1 2 3\n", "garments:\n  - {mesh: hat.obj, bind: transfer}\n",
     "garments[0].mesh: "),
    ("knit.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
     "garments:\n  - {mesh: 'procedural:cap', texture: knit.png}\n", "knit.png"),
    ("theme.wav", b"RIFF\0\0\0\0WAVEfmt ", None, "music"),
])
def test_unreadable_series_files_are_refused_by_dry_run_and_build(tmp_path, name, data, extra,
                                                                   words):
    root = create_demo(tmp_path / "demo")
    (root / name).write_bytes(data)
    if extra is None:
        (root / "series.yaml").write_text((root / "series.yaml").read_text() + f"music: {name}\n")
    else:
        _wardrobe(root, extra)
    dry, build = dry_outcome(root, 0), build_outcome(root, 0)
    assert dry.kind == build.kind == "refused", (dry, build)
    assert dry.message == build.message and words in dry.message, dry.message
