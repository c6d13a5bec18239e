"""`reskin storyboard EP`: one panel per shot, drawn by the preview renderer, on one sheet.

Each panel is a key frame of its shot (the middle of its first line, or of the shot when it
holds none) seen through the shot's own camera, with the shot id, framing, duration and the
line under it: the director's first look at an episode, in seconds and without Blender.
Written as PNG, or PDF (one page) when the output ends in ``.pdf``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reskin.core.errors import ReskinError
from reskin.pipeline.inputs import load_inputs
from reskin.pipeline.refs import prop_refs
from reskin.scenes.compile import ShotPlan, compile_episode

if TYPE_CHECKING:
    from reskin.pipeline.build import Builder

PANEL_W = 270
COLUMNS = 5
CAPTION_H = 112
GAP = 12


def key_frame(plan: ShotPlan) -> int:
    """The frame a panel shows: the middle of the shot's first line, else of the shot."""
    if plan.lines:
        ln = plan.lines[0]
        t = ln["start"] + ln["duration"] / 2
    else:
        t = plan.frame_count / plan.fps / 2
    return min(plan.frame_count - 1, max(0, round(t * plan.fps)))


def framing_of(episode, shot_id: str) -> str:
    """The shot's framing as written (``explicit`` for a location/target camera)."""
    spec = next(s for s in episode.shots if s.id == shot_id)
    if spec.camera.location is not None:
        return "location/target"
    return spec.camera.framing + (f" over {spec.camera.over}" if spec.camera.over else "")


def storyboard(builder: Builder, episode_id: str, out: Path) -> dict:
    """Draw ``episode_id``'s storyboard to ``out`` (.png or .pdf). The skins are made first if
    missing (not timed); returns {"path", "panels", "seconds"} where ``seconds`` is the board
    itself: speech (cached), compile, one preview frame per shot, the sheet."""
    import functools
    import io

    from PIL import Image

    from reskin.render.preview import PreviewCharacter, PreviewRenderer
    from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS
    from reskin.rigging.rigged import load_rigged

    if out.suffix.lower() not in (".png", ".pdf"):
        raise ReskinError("the storyboard is written as .png or .pdf", file=out)
    ctx = builder.ctx
    cast, episodes, wardrobes = load_inputs(ctx.series)
    ep = next((e for e in episodes if e.id == episode_id), None)
    if ep is None:
        raise ReskinError(f"no episode {episode_id!r}", file=ctx.series.root / "episodes")
    skins = builder.skins(cast, {k: v for k, v in wardrobes.items() if k[1] == episode_id})
    started = time.perf_counter()
    (ep,) = builder.speech(cast, [ep])
    characters = {}
    for ref in {s.ref for s in skins.values()}:
        skin = ctx.lib.get(ref)
        rig = load_rigged(ctx.lib, ctx.lib.get(skin.meta["character"]))
        # The preview splits the mesh at UV seams for every shot it draws; this rig is our
        # own copy, drawn once per shot, so split it once (a third of the board's time).
        object.__setattr__(rig.mesh, "split_for_export",
                           functools.cache(rig.mesh.split_for_export))
        texture = np.asarray(Image.open(io.BytesIO(ctx.lib.read_blob(
            skin.blobs["texture.png"]))).convert("RGB"))
        characters[ref] = PreviewCharacter.from_rig(rig, texture, ctx.series.fps,
                                                    PROCEDURAL_CLIPS)
    ep_skins = {c: s for (c, _), s in skins.items()}
    plans = compile_episode(ctx.series, ep, ep_skins, prop_refs(ctx, [ep]))
    scale = PANEL_W / ctx.series.width
    w, h = PANEL_W, round(ctx.series.height * scale)
    frames = []
    with PreviewRenderer(w, h) as renderer:
        for plan in plans:
            shot = plan.to_dict() | {"width": w, "height": h}
            rgba = renderer.render_shot(shot, characters, [key_frame(plan)])[0]
            frames.append(rgba)
    sheet = compose(frames, [_caption(ep, p) for p in plans], ctx.series.style.background)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".pdf":
        sheet.save(out, format="PDF", resolution=150)
    else:
        sheet.save(out, format="PNG")
    return {"path": str(out), "panels": len(plans),
            "seconds": round(time.perf_counter() - started, 3)}


def _caption(episode, plan: ShotPlan) -> tuple[str, str, str]:
    said = "  /  ".join(f"{ln['speaker']}: {ln['text']}" for ln in plan.lines)
    return (plan.shot, f"{framing_of(episode, plan.shot)}  ·  "
            f"{plan.frame_count / plan.fps:.1f} s", said)


def compose(frames: list[np.ndarray], captions: list[tuple[str, str, str]],
            background: tuple[float, float, float]):  # noqa: ANN201 - a PIL image
    """The sheet: panels (each (h, w, 4) uint8 RGBA over ``background``) in rows of
    :data:`COLUMNS`, each with its caption (shot id; framing and duration; the lines,
    wrapped) under it."""
    from PIL import Image, ImageDraw, ImageFont

    from reskin.render.captions import find_cjk_font, wrap

    h, w = frames[0].shape[:2]
    rows = -(-len(frames) // COLUMNS)
    cols = min(COLUMNS, len(frames))
    sheet = Image.new("RGB", (GAP + cols * (w + GAP), GAP + rows * (h + CAPTION_H + GAP)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.truetype(str(find_cjk_font()), 13)
        bold = ImageFont.truetype(str(find_cjk_font()), 14)
    except ReskinError:
        font = bold = ImageFont.load_default()
    bg = np.asarray(background, np.float32) * 255
    for i, (rgba, (head, sub, said)) in enumerate(zip(frames, captions, strict=True)):
        x, y = GAP + (i % COLUMNS) * (w + GAP), GAP + (i // COLUMNS) * (h + CAPTION_H + GAP)
        a = rgba[..., 3:4].astype(np.float32) / 255
        rgb = (rgba[..., :3] * a + bg * (1 - a)).round().astype(np.uint8)
        sheet.paste(Image.fromarray(rgb), (x, y))
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=(40, 40, 40))
        draw.text((x, y + h + 4), head, fill=(20, 20, 20), font=bold)
        draw.text((x, y + h + 22), sub, fill=(90, 90, 90), font=font)
        lines = wrap(said, lambda s: draw.textlength(s, font=font), w) if said else []
        for k, text in enumerate(lines[:4]):
            draw.text((x, y + h + 42 + 16 * k), text, fill=(40, 40, 40), font=font)
    return sheet
