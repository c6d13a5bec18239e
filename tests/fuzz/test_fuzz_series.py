"""Series YAML hostile input: mutants of the sample series' YAML files (series, characters,
wardrobes, episodes). The dry run and the build (stopped before it renders) agree on every
one: both accept, or both refuse with the same one-line error. Files that escape the series
folder (absolute paths, ``..``, symlinks) are refused by both in one line naming the field.

Seeds 0..79 here; 300 more (1000..1299) agree too (see the closing note of issue 23). Replay:
``tests.fuzz.series_cases.run_mutant(root, seed, yaml_files(root))``.
"""

from __future__ import annotations

import os

import pytest

from reskin.pipeline.series_init import create_demo
from tests.fuzz.series_cases import agree, build_outcome, dry_outcome, run_mutant, yaml_files

SEEDS = range(0, 80)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The sample series with its characters generated, rigged and skinned (a build up to its
    first render), so mutants only pay for what they change."""
    root = create_demo(tmp_path_factory.mktemp("series") / "demo")
    assert build_outcome(root, -1).kind == "accepted"
    return root


def test_dry_run_and_build_agree_on_every_yaml_mutant(demo):
    files = yaml_files(demo)
    counts: dict[str, int] = {}
    for seed in SEEDS:
        dry, build, name = run_mutant(demo, seed, files)
        assert agree(dry, build), (f"seed {seed} ({name}): dry run {dry.kind} "
                                   f"{dry.message[-600:]!r}; build {build.kind} "
                                   f"{build.message[-600:]!r}")
        counts[dry.kind] = counts.get(dry.kind, 0) + 1
    assert counts.get("refused", 0) > 20 and counts.get("accepted", 0) > 5, counts


def _garment(root, mesh: str) -> None:
    path = root / "cast" / "mira" / "ep01.yaml"
    path.write_text(path.read_text() + f"garments:\n  - {{mesh: '{mesh}', bind: transfer}}\n")


def _texture(root, texture: str) -> None:
    path = root / "cast" / "mira" / "ep01.yaml"
    path.write_text(path.read_text().replace('bottoms: {color: "#1f2a44"}',
                                             f'bottoms: {{texture: "{texture}"}}'))


def _music(root, music: str) -> None:
    path = root / "series.yaml"
    path.write_text(path.read_text() + f"music: '{music}'\n")


def _source(root, source: str) -> None:
    path = root / "cast" / "mira" / "character.yaml"
    path.write_text(f"source: '{source}'\nauthor: x\nlicense: CC0-1.0\n")


@pytest.mark.parametrize("edit, field", [(_garment, "garments[0].mesh"),
                                         (_texture, "regions.bottoms.texture"),
                                         (_music, "music"), (_source, "source")])
@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_escaping_paths_are_refused_by_dry_run_and_build(tmp_path, edit, field, how):
    outside = tmp_path / "elsewhere" / "model.glb"
    outside.parent.mkdir()
    outside.write_bytes(b"glTF not really")
    root = create_demo(tmp_path / "demo")
    if how == "absolute":
        text = "/etc/passwd"
    elif how == "dotdot":
        text = "../elsewhere/model.glb"
    else:
        os.symlink(outside, root / "inside.glb")  # looks inside, resolves outside
        text = "inside.glb"
    edit(root, text)
    dry, build = dry_outcome(root, 0), build_outcome(root, 0)
    assert dry.kind == build.kind == "refused", (dry, build)
    assert dry.message == build.message
    assert f"{field}: " in dry.message and "is outside the series folder" in dry.message, \
        dry.message
