"""Making a procedural character once, stored in the library with its provenance (rigging it is
:mod:`reskin.rigging.rigged`)."""

from __future__ import annotations

import io

import numpy as np

import reskin
from reskin.assets.arrays import pack_arrays
from reskin.assets.character_spec import CharacterSpec
from reskin.assets.library import AssetRecord, Library
from reskin.core.hashing import key_of


def generated_key(spec: CharacterSpec) -> str:
    from reskin.assets.generator import GENERATOR_NAME, GENERATOR_VERSION

    return key_of("generate", GENERATOR_NAME, GENERATOR_VERSION, spec.params)


def ensure_generated(lib: Library, spec: CharacterSpec) -> tuple[AssetRecord, bool]:
    """The generated (unrigged) body of ``spec``; generated only if no identical one exists.

    Returns (record, made_now).
    """
    from reskin.assets.generator import (
        GENERATOR_NAME,
        GENERATOR_VERSION,
        HumanoidParams,
        generate_humanoid,
    )

    key = generated_key(spec)
    found = lib.find_by_key("character", key)
    if found is not None:
        return found, False
    mesh = generate_humanoid(HumanoidParams(**spec.params))
    record = lib.add(
        spec.name, "character", {"mesh.npz": pack_arrays(mesh.to_arrays())},
        meta={"stage": "generated", "vertices": len(mesh.vertices), "faces": len(mesh.faces),
              "height": mesh.height},
        provenance={"generator": GENERATOR_NAME, "generator_version": GENERATOR_VERSION,
                    "parameters": spec.params, "source": spec.file, "author": spec.author,
                    "license": spec.license, "reskin": reskin.__version__},
        input_key=key,
    )
    return record, True


def png_bytes(image: np.ndarray) -> bytes:
    """(h, w, 3|4) uint8 -> PNG bytes (deterministic: no timestamps in Pillow's PNG)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()
