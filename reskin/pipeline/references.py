"""Reference images made by reskin itself, for the IP-Adapter (``references: continuity``).

For each character of a shot, its skin for that episode is drawn the way the continuity sheet
draws it (:mod:`reskin.render.continuity_views`: the same pose, camera and light) in the
front and three-quarter views plus the face row's neutral close-up, and stored once as a
versioned ``reference`` asset (``reference.<character>``) whose provenance names the rig and
skin versions it was rendered from. :func:`shot_stylizer` hands a diffusion stylizer those
images for every shot, each tied to the member's instance id so the adapter only acts on that
character's pixels.
"""

from __future__ import annotations

import io

import numpy as np

from reskin.assets.library import AssetRecord, Library
from reskin.core.hashing import key_of

REFERENCE_VERSION = "1"
VIEWS = ("front", "three-quarter", "face")
"""The stored images, in the order the adapter gets them."""
SIZE = (240, 360)
"""(width, height) of the body views; the face is SIZE[0] square (as on the sheet)."""
BACKDROP = (239, 227, 207)
"""The continuity sheet's paper colour, behind the character."""


def _png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    a = rgba[..., 3:4].astype(np.float32) / 255
    rgb = rgba[..., :3] * a + np.asarray(BACKDROP, np.float32) * (1 - a)
    buf = io.BytesIO()
    Image.fromarray(np.rint(rgb).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _render(lib: Library, skin: AssetRecord, rig_record: AssetRecord, fps: int
            ) -> dict[str, bytes]:
    """{view: PNG bytes}: ``skin`` drawn as the continuity sheet draws its row."""
    import os

    from PIL import Image

    from reskin.render.continuity_views import SkinView, face_row, garments_of_glb, render_row
    from reskin.rigging.rigged import load_rigged
    from reskin.skins.identity import kept_faces

    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    from reskin.render.preview import PreviewRenderer

    rig = load_rigged(lib, rig_record)
    tex = np.asarray(Image.open(io.BytesIO(lib.read_blob(skin.blobs["texture.png"])))
                     .convert("RGB"))
    row = SkinView(skin.ref, tex, kept_faces(rig.mesh, tuple(skin.meta.get("hidden", ()))),
                   garments_of_glb(lib.read_blob(skin.blobs["skin.glb"]), rig,
                                   {g["name"] for g in skin.meta.get("garments", [])}))
    width, height = SIZE
    with PreviewRenderer(width, height) as renderer:
        body = render_row(renderer, rig, row, fps)  # (3, h, w, 4): front, three-quarter, back
    with PreviewRenderer(width, width) as renderer:
        # The face row's first tile: neutral (no morph weights).
        face = face_row(renderer, rig, tex, None, [np.zeros(0)], fps, width)[0]
    return {"front": _png(body[0]), "three-quarter": _png(body[1]), "face": _png(face)}


def ensure_references(lib: Library, skin_ref: str, fps: int) -> AssetRecord:
    """The ``reference`` asset of one skin (a character in one episode's wardrobe), rendered
    the first time it is asked for and found by its inputs after that."""
    import reskin

    skin = lib.get(skin_ref)
    rig_record = lib.get(skin.meta["character"])
    key = key_of("reference", REFERENCE_VERSION, skin.ref, skin.content_hash, rig_record.ref,
                 SIZE, fps)
    found = lib.find_by_key("reference", key)
    if found is not None:
        return found
    images = _render(lib, skin, rig_record, fps)
    character = rig_record.name.removeprefix("character.")
    return lib.add(
        f"reference.{character}".lower()[:64], "reference",
        {f"{v}.png": images[v] for v in VIEWS},
        meta={"character": character, "skin": skin.ref, "rig": rig_record.ref,
              "views": list(VIEWS)},
        provenance={"generator": "reskin.references", "renderer": "preview",
                    "rig": rig_record.ref, "skin": skin.ref, "reskin": reskin.__version__},
        parents=(skin, rig_record), input_key=key)


def shot_references(lib: Library, cast: list[dict], fps: int) -> tuple:
    """The adapter's references for a shot whose ``cast`` is the plan's list (``key``: the
    member's skin ref): every view of every member, tied to instance id k (1-based, the
    order the renderer numbers them)."""
    from PIL import Image

    from reskin.render.stylize.ip_adapter import Reference

    out = []
    for k, member in enumerate(cast, start=1):
        record = ensure_references(lib, member["key"], fps)
        for view in VIEWS:
            sha = record.blobs[f"{view}.png"]
            img = np.asarray(Image.open(io.BytesIO(lib.read_blob(sha))).convert("RGB"))
            out.append(Reference(sha, img, instance=k, label=f"{record.ref}/{view}"))
    return tuple(out)


def uses_references(style) -> bool:  # noqa: ANN001
    """Whether ``style``'s stylizer differs per shot: its IP-Adapter takes ``references:
    continuity`` (the cast's reference renders); otherwise one stylizer serves every shot."""
    ip = getattr(style, "ip_adapter", None)
    return style.stylizer == "diffusion" and ip is not None and ip.continuity


def shot_stylizer(lib: Library, style, plan: dict):  # noqa: ANN001, ANN201
    """The stylizer for one shot (``plan``: the ShotPlan dict): ``style``'s, given the cast's
    reference renders when its IP-Adapter takes ``references: continuity``."""
    from reskin.render.stylize import make_stylizer

    stylizer = make_stylizer(style)
    if uses_references(style):
        stylizer = stylizer.with_references(shot_references(lib, plan["cast"], plan["fps"]))
    return stylizer
