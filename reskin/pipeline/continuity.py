"""Continuity sheets: the base character and every episode's skin, side by side.

Every row is drawn by the preview renderer in the same pose, camera and light (front,
three-quarter, back), so only the wardrobe differs. Each skin also gets a difference heat map
against the base, with the share of the difference that falls inside the wardrobe (clothed
body regions and garments): near 100% means the face and the rest of the person held.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from reskin.render.continuity_views import (
    FACE_ROW,
    VIEWS,
    SkinView,
    face_row,
    garments_of_glb,
    heat_map,
    render_row,
    target_weights,
    wardrobe_texture,
)


def continuity_sheet(root: str | Path, character: str, out: str | Path, *, width: int = 240,
                     height: int = 360, log=None) -> dict:  # noqa: ANN001
    """Render ``character``'s continuity sheet for every episode with a wardrobe; write the PNG
    to ``out``. Returns {"file", "episodes", "confined": {episode: share in 0..1}}."""
    import os

    from PIL import Image, ImageDraw

    from reskin.assets.library import Library
    from reskin.pipeline.inputs import load_cast
    from reskin.pipeline.skin_runner import reskin_episode, wardrobe_episodes
    from reskin.rigging.rigged import load_rigged
    from reskin.scenes.series import load_series
    from reskin.skins.identity import kept_faces
    from reskin.skins.paint import paint_materials

    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    from reskin.render.preview import PreviewRenderer

    series = load_series(root)
    episodes = wardrobe_episodes(series.root, character)
    rows_made = [reskin_episode(series.root, ep, [character], log=log)[0] for ep in episodes]
    spec = load_cast(series)[character]
    with Library(series.library_dir) as lib:
        skins = [lib.get(r["skin"]) for r in rows_made]
        rig = load_rigged(lib, lib.get(skins[0].meta["character"])) if skins else None
        if rig is None:
            from reskin.core.errors import ReskinError

            raise ReskinError(f"{character} has no wardrobe specs", file=series.root / "cast")
        all_faces = np.ones(len(rig.mesh.faces), bool)
        if rig.from_file:  # the file's own texture, and where its wardrobe regions lie
            from reskin.skins.file_skin import texture_and_regions

            base_tex, region_tex = texture_and_regions(lib, rig)
        else:
            base_tex, _ = paint_materials(rig.position, rig.part, rig.mesh.part_names,
                                          rig.skeleton, spec.identity(), None)
            region_tex = wardrobe_texture(rig)
        rows = [SkinView("base", base_tex, all_faces, [])]
        for ep, skin in zip(episodes, skins, strict=True):
            tex = np.asarray(Image.open(io.BytesIO(lib.read_blob(skin.blobs["texture.png"])))
                             .convert("RGB"))
            rows.append(SkinView(ep, tex, kept_faces(rig.mesh, tuple(skin.meta.get("hidden", ()))),
                                 garments_of_glb(lib.read_blob(skin.blobs["skin.glb"]), rig,
                                                 {g["name"] for g in skin.meta.get("garments",
                                                                                   [])})))
        morphs, where, keys, faces = _face_inputs(lib, rig, skins)
    fps = series.fps
    face_size = width
    with PreviewRenderer(face_size, face_size) as renderer:
        face_tiles = [face_row(renderer, rig, r.texture, morphs, [
            target_weights(face, channels, where, keys) for _, channels in FACE_ROW],
            fps, face_size) for r, face in zip(rows, [faces[0], *faces], strict=True)]
    with PreviewRenderer(width, height) as renderer:
        renders = [render_row(renderer, rig, r, fps) for r in rows]
        region = render_row(renderer, rig, SkinView("mask", region_tex, all_faces, []), fps)
        worn = [render_row(renderer, rig, r, fps, garments_only=True)[..., 3] > 0
                if r.garments else np.zeros((len(VIEWS), height, width), bool) for r in rows]
    base_alpha = renders[0][..., 3] > 0
    allowed_base = (region[..., 0] > 40) & base_alpha
    label_h = 22
    sheet = Image.new("RGB", (width * 2 * len(VIEWS), (height + label_h) * len(rows)),
                      (239, 227, 207))
    draw = ImageDraw.Draw(sheet)
    confined = {}
    for r, (row, render) in enumerate(zip(rows, renders, strict=True)):
        y0 = r * (height + label_h)
        shares = []
        for v, (view, _) in enumerate(VIEWS):
            a = render[v, ..., 3:4].astype(np.float32) / 255
            rgb = render[v, ..., :3] * a + np.array([239, 227, 207]) * (1 - a)
            sheet.paste(Image.fromarray(rgb.astype(np.uint8)), (v * width, y0 + label_h))
            draw.text((v * width + 4, y0 + 4), f"{row.label} - {view}", fill=(20, 20, 20))
            if r == 0:
                continue
            allowed = allowed_base[v] | worn[r][v] | (base_alpha[v] != (render[v, ..., 3] > 0))
            heat, share = heat_map(renders[0][v], render[v], allowed)
            shares.append(share)
            x = (len(VIEWS) + v) * width
            sheet.paste(Image.fromarray(heat), (x, y0 + label_h))
            draw.text((x + 4, y0 + 4), f"diff {view}: {share:.1%} in wardrobe",
                      fill=(20, 20, 20))
        if r:
            confined[row.label] = min(shares)
    sheet = _with_faces(sheet, rows, face_tiles, face_size, label_h)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return {"file": str(Path(out).resolve()), "episodes": episodes, "confined": confined}


def _face_inputs(lib, rig, skins):  # noqa: ANN001, ANN202
    """(morph targets on the rig's vertices or None, [(glTF mesh, target)], mesh keys, each
    skin's face map): what the face row needs, from the character's model for a file
    character (its own morph targets)."""
    from reskin.rigging.face_names import mesh_keys

    faces = [skin.meta.get("face") for skin in skins]
    if not rig.from_file:
        if not rig.mesh.targets:
            return None, [], [], faces
        # A generated body: its targets are the body primitive's, in the order exported.
        from reskin.assets.gltf.glb import read_glb
        from reskin.rigging.morphs import morph_targets

        js, _ = read_glb(lib.read_blob(skins[0].blobs["skin.glb"]))
        names = list(rig.mesh.targets)
        morphs = morph_targets(np.stack([rig.mesh.targets[n] for n in names]), names)
        return morphs, [(0, t) for t in range(len(names))], mesh_keys(js), faces
    from reskin.rigging.file_rig import mesh_morphs, read_model

    model = lib.read_blob(rig.record.blobs["model.glb"])
    morphs, where = mesh_morphs(model, rig.mesh)
    return morphs, where, mesh_keys(read_model(model).json), faces


def _with_faces(sheet, rows, tiles, size: int, label_h: int):  # noqa: ANN001, ANN202
    """The sheet with a face row under it per skin: neutral, three emotions, a blink."""
    from PIL import Image, ImageDraw

    from reskin.render.continuity_views import FACE_ROW

    strip = size + label_h
    out = Image.new("RGB", (max(sheet.width, size * len(FACE_ROW)), sheet.height +
                            strip * len(rows)), (239, 227, 207))
    out.paste(sheet, (0, 0))
    draw = ImageDraw.Draw(out)
    for r, (row, faces) in enumerate(zip(rows, tiles, strict=True)):
        y0 = sheet.height + r * strip
        for c, (label, _) in enumerate(FACE_ROW):
            a = faces[c, ..., 3:4].astype(np.float32) / 255
            rgb = faces[c, ..., :3] * a + np.array([239, 227, 207]) * (1 - a)
            out.paste(Image.fromarray(rgb.astype(np.uint8)), (c * size, y0 + label_h))
            draw.text((c * size + 4, y0 + 4), f"{row.label} - face {label}", fill=(20, 20, 20))
    return out
