"""`reskin render EP --preview`: draft an episode with the preview renderer."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from reskin.core.errors import ReskinError
from reskin.pipeline.inputs import load_inputs
from reskin.pipeline.refs import prop_refs
from reskin.scenes.compile import compile_episode

if TYPE_CHECKING:
    from reskin.pipeline.build import Builder


def preview_episode(builder: Builder, episode_id: str) -> dict:
    """Draft ``episode_id`` with the preview renderer: same plan, cameras and poses (the skins
    are made by ``builder`` if missing). Returns the build report's keys for an episode (id,
    video: None, shots with id, frames, folder, video; absolute paths) plus seconds and fps."""
    import io

    import numpy as np
    from PIL import Image

    from reskin.render.outputs import write_mp4
    from reskin.render.preview import PreviewCharacter, PreviewRenderer, write_frames
    from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS
    from reskin.rigging.rigged import load_rigged

    ctx = builder.ctx
    cast, episodes, wardrobes = load_inputs(ctx.series)
    ep = next((e for e in episodes if e.id == episode_id), None)
    if ep is None:
        raise ReskinError(f"no episode {episode_id!r}", file=ctx.series.root / "episodes")
    (ep,) = builder.speech(cast, [ep])  # lines timed by their speech, as the build times them
    skins = builder.skins(cast, {k: v for k, v in wardrobes.items() if k[1] == episode_id})
    characters = {}
    for ref in {s.ref for s in skins.values()}:
        skin = ctx.lib.get(ref)
        rig = load_rigged(ctx.lib, ctx.lib.get(skin.meta["character"]))
        texture = np.asarray(Image.open(io.BytesIO(ctx.lib.read_blob(
            skin.blobs["texture.png"]))).convert("RGB"))
        characters[ref] = PreviewCharacter.from_rig(rig, texture, ctx.series.fps,
                                                    PROCEDURAL_CLIPS)
    out = ctx.series.out_dir.resolve() / episode_id / "preview"
    started, frames_drawn, shots = time.perf_counter(), 0, []
    with PreviewRenderer(ctx.series.width, ctx.series.height) as renderer:
        ep_skins = {c: s for (c, _), s in skins.items()}
        for plan in compile_episode(ctx.series, ep, ep_skins, prop_refs(ctx, [ep])):
            rgba = renderer.render_shot(plan.to_dict(), characters)
            frames_drawn += len(rgba)
            paths = write_frames(rgba, out / plan.shot, ctx.series.style.background)
            video = out / plan.shot / f"{plan.shot}.mp4"
            write_mp4(paths, plan.fps, video)
            shots.append({"id": plan.shot, "frames": len(paths),
                          "folder": str(out / plan.shot), "video": str(video)})
    seconds = time.perf_counter() - started
    return {"id": episode_id, "episode": episode_id, "video": None, "shots": shots,
            "seconds": round(seconds, 3), "fps": round(frames_drawn / seconds, 2)}



_CHARACTERS_KEPT = 8
"""Skins a draft build keeps drawn-ready (an episode's cast and the next one's)."""


class PreviewExecutor:
    """Renders a build's shots with the OpenGL preview renderer (``reskin build --preview``):
    the same plans, cameras, poses and cache folders as Blender's renders, drawn in
    milliseconds, for a draft of a whole series. Its frames are kept under their own cache
    kind (:attr:`cache_kind`), so a draft is never taken for a finished render."""

    cache_kind = "preview"

    def __init__(self, lib, width: int, height: int, fps: int):
        self.lib, self.size, self.fps = lib, (width, height), fps
        # skin ref -> PreviewCharacter, the last few (shots come episode by episode, and a
        # long series has hundreds of skins); rig ref -> the rig they share
        self._characters: OrderedDict = OrderedDict()
        self._rigs: dict = {}

    def _character(self, ref: str):
        import io

        import numpy as np
        from PIL import Image

        from reskin.render.preview import PreviewCharacter
        from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS
        from reskin.rigging.rigged import load_rigged

        if ref not in self._characters:
            skin = self.lib.get(ref)
            rig_ref = skin.meta["character"]
            if rig_ref not in self._rigs:
                self._rigs[rig_ref] = load_rigged(self.lib, self.lib.get(rig_ref))
            texture = np.asarray(Image.open(io.BytesIO(self.lib.read_blob(
                skin.blobs["texture.png"]))).convert("RGB"))
            self._characters[ref] = PreviewCharacter.from_rig(self._rigs[rig_ref], texture,
                                                              self.fps, PROCEDURAL_CLIPS)
            while len(self._characters) > _CHARACTERS_KEPT:
                self._characters.popitem(last=False)
        self._characters.move_to_end(ref)
        return self._characters[ref]

    def run(self, jobs, progress=None) -> None:
        """Draw every job's missing frames as ``beauty_NNNN.png`` in its ``out_dir``."""
        from pathlib import Path

        from PIL import Image

        from reskin.core.atomic import atomic_path
        from reskin.render.preview import PreviewRenderer

        if not jobs:
            return
        with PreviewRenderer(*self.size) as renderer:
            for job in jobs:
                shot = job.shot
                chars = {m["key"]: self._character(m["key"]) for m in shot["cast"]}
                rgba = renderer.render_shot(shot, chars, list(shot["frames"]))
                for f, img in zip(shot["frames"], rgba, strict=True):
                    with atomic_path(Path(shot["out_dir"]) / f"beauty_{f:04d}.png") as tmp:
                        Image.fromarray(img, "RGBA").save(tmp, format="PNG")
                if progress is not None:
                    progress(job.name, len(shot["frames"]))
