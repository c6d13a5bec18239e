"""Reference renders made by reskin (continuity-sheet views of each skin) stored as versioned
``reference`` assets, and fed to a tiny IP-Adapter for every shot, masked per character, on a
series built for real (tiny)."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("diffusers")

from reskin.assets.library import Library  # noqa: E402
from reskin.pipeline.build import build  # noqa: E402
from reskin.pipeline.references import VIEWS, shot_references, shot_stylizer  # noqa: E402
from reskin.pipeline.style_gate import check_styles, lock_styles  # noqa: E402
from reskin.scenes.series import load_style  # noqa: E402
from tests.pipeline.test_build import make_tiny, run_build  # noqa: E402
from tests.render.stylize.tiny_pipeline import (  # noqa: E402
    build_tiny_ip_adapter,
    build_tiny_models,
)

IPA = """\
stylizer: diffusion
model: models/tiny/model
prompt: ink
seed: 3
strength: 0.6
guidance: 2.0
steps: 2
size: 64
ip_adapter:
  path: models/ip-adapter
  scale: 1.0
  references: continuity
"""


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    root = make_tiny(tmp_path_factory.mktemp("refs") / "s")
    run_build(root)
    model, _ = build_tiny_models(root / "models" / "tiny", controls=())
    build_tiny_ip_adapter(root / "models" / "ip-adapter", model)
    (root / "styles").mkdir()
    (root / "styles" / "ipa.yaml").write_text(IPA)
    yield root
    if old is None:
        os.environ.pop("HF_HUB_OFFLINE", None)
    else:
        os.environ["HF_HUB_OFFLINE"] = old


def grow(mask, px):
    """``mask`` (f, h, w) bool grown by ``px`` pixels (4-neighbour steps)."""
    out = mask.copy()
    for _ in range(px):
        g = out.copy()
        g[:, 1:] |= out[:, :-1]
        g[:, :-1] |= out[:, 1:]
        g[:, :, 1:] |= out[:, :, :-1]
        g[:, :, :-1] |= out[:, :, 1:]
        out = g
    return out


def rendered(root):
    for done in sorted((root / ".reskin" / "cache" / "render").glob("*/done.json")):
        yield done.parent, json.loads(done.read_text())["plan"]


def test_each_skin_gets_versioned_reference_renders_with_provenance(series):
    _, plan = max(rendered(series), key=lambda p: len(p[1]["cast"]))
    with Library(series / ".reskin") as lib:
        refs = shot_references(lib, plan["cast"], plan["fps"])
        assert len(refs) == len(VIEWS) * len(plan["cast"])
        assert [r.instance for r in refs] == [k for k in range(1, len(plan["cast"]) + 1)
                                              for _ in VIEWS]
        for member in plan["cast"]:
            skin = lib.get(member["key"])
            (record,) = [r for r in lib.list("reference") if r.meta["skin"] == skin.ref]
            assert record.name == f"reference.{member['name']}"
            assert record.provenance["skin"] == skin.ref
            assert record.provenance["rig"] == skin.meta["character"]
            assert sorted(record.blobs) == sorted(f"{v}.png" for v in VIEWS)
        for r in refs:  # a character is drawn on the sheet's paper, not an empty image
            assert r.image.ndim == 3 and r.image.std() > 5
        count = len(lib.list("reference"))
        again = shot_references(lib, plan["cast"], plan["fps"])
        assert len(lib.list("reference")) == count  # made once, found by its inputs after
        assert [r.digest for r in again] == [r.digest for r in refs]


def test_continuity_references_steer_the_build_and_a_locked_style_rebuilds_from_cache(series):
    style = load_style(series, "ipa")
    folder, plan = max(rendered(series), key=lambda p: len(p[1]["cast"]))
    still = replace(style, coherence="none")  # each frame on its own: the adapter's effect
    with Library(series / ".reskin") as lib:
        stylizer = shot_stylizer(lib, still, plan)
        plain = shot_stylizer(lib, replace(still, ip_adapter=None), plan)
    rec = stylizer.key()["ip_adapter"]
    assert rec["references"] == "continuity"
    assert {i["instance"] for i in rec["images"]} == set(range(1, len(plan["cast"]) + 1))
    from reskin.pipeline.inputs import load_frameset

    frames = load_frameset(folder, plan)
    out, base = stylizer.stylize(frames), plain.stylize(frames)
    whole = stylizer.with_references(tuple(replace(r, instance=None)
                                           for r in stylizer.references())).stylize(frames)
    diff = np.abs(out.astype(int) - base).mean(-1)
    unmasked = np.abs(whole.astype(int) - base).mean(-1)
    cast = frames.instance > 0
    far = ~grow(cast, 12)
    # The references act on the characters. The mask is applied at the UNet's attention
    # resolution (here 6 px cells), so the change spreads a few cells past the silhouette;
    # well away from the cast it is small, and smaller than when they steer the whole frame.
    assert diff[cast].mean() > 3.0 and diff[cast].mean() > 4.0 * diff[far].mean()
    assert diff[far].mean() < 0.7 * unmasked[far].mean(), (diff[far].mean(),
                                                            unmasked[far].mean())
    # The build stylizes every shot with its cast's references and records them in the style.
    first = build(series, style="ipa")
    with Library(series / ".reskin") as lib:
        styles = [r for r in lib.list("style") if r.name == "style.ipa"]
        assert styles and all(r.provenance["settings"]["ip_adapter"]["images"] for r in styles
                              if "ip_adapter" in r.provenance["settings"])
    assert any(not s.cached for e in first.episodes for s in e.shots)
    # Locked, unchanged: the gate passes, and a rebuild is all cache hits.
    assert lock_styles(series, "ipa") == ["ipa"]
    (check,) = check_styles(series, "ipa")
    assert check.passed, check.frames
    second = build(series, style="ipa")
    assert all(s.cached for e in second.episodes for s in e.shots)
