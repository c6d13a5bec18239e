"""The character's body in GLB form, exported and identity-checked once per rig, reused by skins.

Every skin of a character carries the same body (identity lock): the same split geometry,
influences, skeleton, bind pose and clips. :func:`reskin.assets.gltf.character.character_body`
holds exactly that part of the GLB, and a skin's material and garments only append after it,
so one export serves every skin of a rig (with the same hidden parts and clips).

A body is checked against the rig in full (:func:`identity.check_exported`) when it is made;
each skin then only has to prove that its written body is, bit for bit, that checked body.
Bodies are kept in memory for the process and on disk under the library's derived-data cache
(:mod:`reskin.assets.derived`, kind ``skin-body``): the key covers the rig's content hash,
the hidden parts, the clips and the exporter version; a torn, corrupt or stale file is a miss
(made again), never a wrong body.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reskin.assets import derived
from reskin.assets.gltf.character import CharacterBody, character_body, finish_character_glb
from reskin.assets.library import Library
from reskin.core.errors import ReskinError
from reskin.core.hashing import key_of
from reskin.rigging.procedural_clips import Clips, clip_ids, clip_list
from reskin.rigging.rigged import RiggedCharacter

BODY_CACHE_VERSION = "2"
KIND = "skin-body"
_MEMORY: OrderedDict[str, VerifiedBody] = OrderedDict()
_MEMORY_SIZE = 8


@dataclass(frozen=True, eq=False)
class VerifiedBody:
    """A body export that passed the identity lock against its rig, and what it holds."""

    key: str
    body: CharacterBody
    arrays: dict[str, np.ndarray]  # skin_glb.body_arrays of it


def body_key(rigged: RiggedCharacter, hidden: Sequence[str], clips: Clips,
             name: str) -> str:
    from reskin.assets.gltf.character import EXPORTER_VERSION

    return key_of(KIND, BODY_CACHE_VERSION, EXPORTER_VERSION, rigged.record.content_hash,
                  sorted(hidden), clip_ids(clips), name)


def clear_memory() -> None:
    """Forget the bodies held in memory (as a fresh process would)."""
    _MEMORY.clear()


def _body_glb(body: CharacterBody, key: str) -> bytes:
    return finish_character_glb(body, extras={"reskin_body": key})


def _load(lib: Library, owner: str, key: str) -> VerifiedBody | None:
    from reskin.assets.gltf.glb import read_glb
    from reskin.skins.skin_glb import body_arrays_of

    glb = derived.read(lib, KIND, owner, key)
    if glb is None:
        return None
    try:
        doc, binary = read_glb(glb)
        if doc.get("asset", {}).get("extras", {}).get("reskin_body") != key:
            return None
        arrays = body_arrays_of(doc, binary)
        for k in ("materials", "buffers", "asset"):
            doc.pop(k, None)
        body = CharacterBody(name=doc["nodes"][0]["name"], document=json.dumps(
            doc, separators=(",", ":")), binary=bytes(binary))
    except (ReskinError, ValueError, KeyError, IndexError, TypeError, json.JSONDecodeError):
        return None
    return VerifiedBody(key, body, arrays)


def verified_body(lib: Library, rigged: RiggedCharacter, body_mesh, keep: np.ndarray,
                  hidden: Sequence[str], clips: Clips, name: str) -> VerifiedBody:
    """The checked body export for ``body_mesh`` (the rig's mesh with ``keep`` faces).

    Raises :class:`identity.IdentityLockError` when a fresh export does not match the rig.
    """
    from reskin.skins import identity
    from reskin.skins.skin_glb import body_arrays

    key = body_key(rigged, hidden, clips, name)
    owner = rigged.record.content_hash
    found = _MEMORY.get(key)
    if found is None:
        found = _load(lib, owner, key)
        if found is None:
            body = character_body(body_mesh, rigged.skeleton, rigged.joints, rigged.weights,
                                  name=name, clips=clip_list(clips))
            glb = _body_glb(body, key)
            arrays = body_arrays(glb)
            identity.check_exported(arrays, rigged.mesh, rigged.skeleton, rigged.joints,
                                    rigged.weights, keep, f"body of {name}")
            derived.write(lib, KIND, owner, key, glb)
            found = VerifiedBody(key, body, arrays)
        _MEMORY[key] = found
        while len(_MEMORY) > _MEMORY_SIZE:
            _MEMORY.popitem(last=False)
    elif not derived.exists(lib, KIND, owner, key):  # another library with the same rig
        derived.write(lib, KIND, owner, key, _body_glb(found.body, key))
    _MEMORY.move_to_end(key)
    return found
