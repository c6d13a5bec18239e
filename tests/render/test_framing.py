"""Cameras by intent, checked on the instance pass of real Blender renders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reskin.pipeline.build import build
from reskin.render.passes import read_shot_passes
from tests.render.series import sample_cast_series

SERIES = """\
name: framing
resolution: [54, 96]
fps: 4
render: {engine: cycles, samples: 2, passes: [depth, instance]}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: medium
    duration: 0.25
    cast: [{character: mira}]
    camera: {framing: medium}
  - id: closeup
    duration: 0.25
    cast: [{character: mira}]
    camera: {framing: closeup}
  - id: two
    duration: 0.25
    cast:
      - {character: mira, position: [-0.6, 0]}
      - {character: theo, position: [0.6, 0]}
    camera: {framing: two-shot}
  - id: ots
    duration: 0.25
    cast:
      - {character: mira, position: [0, 0.8], facing: 180}
      - {character: theo, position: [0, -0.8]}
    camera: {framing: over-shoulder, over: mira, on: theo}
"""


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    root = sample_cast_series(tmp_path_factory.mktemp("framing") / "s", SERIES, EPISODE)
    build(root)
    out = {}
    for render in (root / ".reskin" / "cache" / "render").iterdir():
        plan = json.loads((render / "done.json").read_text())["plan"]
        passes = read_shot_passes(sorted(render.glob("passes_*.exr")), [plan["camera"]])
        out[plan["name"].split("/")[1]] = (passes["instance"][0], passes["depth"][0],
                                           plan["camera"]["lens_mm"])
    return out


def pixels_per_metre(shot) -> float:
    """How large the subject appears: focal length in pixels over its distance."""
    inst, depth, lens = shot
    return (lens / 24.0) * inst.shape[0] / float(np.median(depth[inst == 1]))


def test_closeup_is_larger_than_medium(instances):
    medium, closeup = instances["medium"], instances["closeup"]
    assert pixels_per_metre(closeup) > 1.6 * pixels_per_metre(medium)
    for inst, _, _ in (medium, closeup):  # centred and filling the frame's middle
        assert (inst[:, 20:34] == 1).mean() > 0.5


def test_two_shot_puts_each_character_on_its_side(instances):
    inst = instances["two"][0]
    cols = np.arange(inst.shape[1])
    mira, theo = inst == 1, inst == 2
    assert mira.sum() > 50 and theo.sum() > 50
    assert cols[np.nonzero(mira)[1]].mean() < inst.shape[1] / 2 < cols[np.nonzero(theo)[1]].mean()


def test_over_the_shoulder_sees_the_subject_past_the_shoulder(instances):
    inst, depth, _ = instances["ots"]
    shoulder, subject = inst == 1, inst == 2
    assert subject.mean() > 0.05 and shoulder.mean() > 0.05
    # the shoulder is in the foreground, the subject behind it
    assert np.median(depth[shoulder]) < np.median(depth[subject])
