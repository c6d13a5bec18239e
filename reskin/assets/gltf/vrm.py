"""VRM avatars (a glTF with the ``VRMC_vrm`` 1.0 or ``VRM`` 0.x extension) and a file's credits.

A VRM names its humanoid bones itself, so an importer uses that map instead of guessing from
joint names; VRM bone names are reskin's canonical joint names
(:data:`reskin.core.skeleton.HUMANOID_JOINTS`) where both have the bone. Its meta says who made
it and under which terms; :func:`file_credits` turns that (or, for any glTF, ``asset.copyright``
and ``asset.extras``) into provenance fields. VRM 0.x avatars face -Z, against glTF's (and
reskin's) +Z; :func:`face_forward` turns them round in the import normalisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from reskin.core.errors import ReskinError
from reskin.core.skeleton import HUMANOID_JOINTS

CANONICAL = {name for name, _ in HUMANOID_JOINTS}
# A half turn about +Y: a -Z-facing avatar (VRM 0.x) made to face +Z, feet and height unchanged.
HALF_TURN_Y = np.diag([-1.0, 1.0, -1.0, 1.0])
# VRM 0.x licenseName -> SPDX. VRM 0.x names Creative Commons licences without a version, so
# those become LicenseRef ids rather than a guessed version.
_VRM0_LICENSES = {
    "CC0": "CC0-1.0", "CC_BY": "LicenseRef-CC-BY", "CC_BY_NC": "LicenseRef-CC-BY-NC",
    "CC_BY_SA": "LicenseRef-CC-BY-SA", "CC_BY_NC_SA": "LicenseRef-CC-BY-NC-SA",
    "CC_BY_ND": "LicenseRef-CC-BY-ND", "CC_BY_NC_ND": "LicenseRef-CC-BY-NC-ND",
    "Redistribution_Prohibited": "LicenseRef-VRM-Redistribution-Prohibited",
}
_VRM1_TERMS = ("avatarPermission", "commercialUsage", "creditNotation", "allowRedistribution",
               "modification", "allowExcessivelyViolentUsage", "allowExcessivelySexualUsage",
               "allowPoliticalOrReligiousUsage", "allowAntisocialOrHateUsage",
               "otherLicenseUrl")
_VRM0_TERMS = ("allowedUserName", "violentUssageName", "sexualUssageName",
               "commercialUssageName", "otherPermissionUrl", "otherLicenseUrl")
_CC_URL = re.compile(r"creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)", re.I)
_CC_TEXT = re.compile(r"\bCC[- ]?(BY(?:[- ](?:SA|NC|ND))*)[- ]?(\d\.\d)\b", re.I)
_SPDX_ID = re.compile(r"^(LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.+-]*)$")


@dataclass(frozen=True)
class VrmInfo:
    """What a VRM file says about itself.

    version : "1.0" style ``specVersion`` of VRMC_vrm, or the VRM 0.x ``specVersion`` ("0.0")
    bones   : VRM humanoid bone name -> node index (every bone the file maps)
    meta    : the extension's ``meta`` object as written
    faces_minus_z : True for VRM 0.x (it faces -Z)
    """

    version: str
    bones: dict[str, int]
    meta: dict
    faces_minus_z: bool


def _node_index(value: object, n_nodes: int, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < n_nodes:
        raise ReskinError(f"humanoid bone node {value!r} is not a node (the file has {n_nodes})",
                          field=where)
    return value


def read_vrm(js: dict) -> VrmInfo | None:
    """The VRM extension of a glTF JSON document; None when it has neither VRMC_vrm nor VRM.

    Raises ReskinError (naming the field) when a humanoid bone points at no node or the
    extension is not an object.
    """
    ext = js.get("extensions") or {}
    n_nodes = len(js.get("nodes", []))
    if "VRMC_vrm" in ext:
        root, key = ext["VRMC_vrm"], "extensions.VRMC_vrm"
        if not isinstance(root, dict):
            raise ReskinError("VRMC_vrm is not an object", field=key)
        human = (root.get("humanoid") or {}).get("humanBones") or {}
        if not isinstance(human, dict):
            raise ReskinError("humanBones is not an object", field=f"{key}.humanoid.humanBones")
        bones = {str(bone): _node_index((spec or {}).get("node"), n_nodes,
                                        f"{key}.humanoid.humanBones.{bone}.node")
                 for bone, spec in human.items()}
        return VrmInfo(str(root.get("specVersion", "1.0")), bones, root.get("meta") or {}, False)
    if "VRM" in ext:
        root, key = ext["VRM"], "extensions.VRM"
        if not isinstance(root, dict):
            raise ReskinError("VRM is not an object", field=key)
        human = (root.get("humanoid") or {}).get("humanBones") or []
        if not isinstance(human, list):
            raise ReskinError("humanBones is not a list", field=f"{key}.humanoid.humanBones")
        bones = {}
        for i, spec in enumerate(human):
            if isinstance(spec, dict) and spec.get("bone"):
                bones[str(spec["bone"])] = _node_index(spec.get("node"), n_nodes,
                                                       f"{key}.humanoid.humanBones[{i}].node")
        return VrmInfo(str(root.get("specVersion", "0.0")), bones, root.get("meta") or {}, True)
    return None


def _node_name(js: dict, index: int) -> str:
    return js["nodes"][index].get("name") or f"node{index}"


def library_meta(info: VrmInfo, js: dict) -> dict:
    """``meta["vrm"]`` of an imported avatar: version, the humanoid map in reskin's canonical
    joint names (canonical name -> node name) and every VRM bone the file maps (-> node name)."""
    return {"version": info.version,
            "humanoid": {b: _node_name(js, n) for b, n in info.bones.items() if b in CANONICAL},
            "bones": {b: _node_name(js, n) for b, n in info.bones.items()}}


def face_forward(info: VrmInfo | None, matrix: np.ndarray, norm: dict) -> np.ndarray:
    """The normalisation ``matrix`` (4, 4), turned to face +Z for a VRM 0.x avatar (recorded
    in ``norm``, the normalisation record, in place); unchanged otherwise."""
    if info is None or not info.faces_minus_z:
        return matrix
    turned = HALF_TURN_Y @ matrix  # about the origin: the footprint stays centred
    norm["matrix"] = [[float(x) for x in row] for row in turned]
    norm["facing"] = "VRM 0.x faces -Z: turned half round to face +Z"
    return turned


def _license_of_url(url: str | None) -> str | None:
    if not url:
        return None
    if "creativecommons.org/publicdomain/zero/1.0" in url:
        return "CC0-1.0"
    m = _CC_URL.search(url)
    if m:
        return f"CC-{m.group(1).upper()}-{m.group(2)}"
    if re.search(r"vrm\.dev/licenses/1\.0", url):
        return "LicenseRef-VRM-1.0"
    return None


def _license_of_text(text: str) -> str | None:
    """An SPDX id named in free text such as a copyright line ("CC-BY 4.0 Model by ...")."""
    m = _CC_TEXT.search(text)
    if m:
        return f"CC-{re.sub(r'[ -]+', '-', m.group(1).upper())}-{m.group(2)}"
    if re.search(r"\bCC0\b", text):
        return "CC0-1.0"
    for spdx in ("MIT", "Apache-2.0", "BSD-3-Clause"):
        if re.search(rf"\b{re.escape(spdx)}\b", text):
            return spdx
    return None


def _text(value: object, limit: int = 300) -> str | None:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def file_credits(js: dict, info: VrmInfo | None = None) -> dict:
    """Author, licence (SPDX) and title a file gives itself, for provenance (absent: left out).

    From the VRM meta when there is one (1.0: authors, licenseUrl and the usage terms; 0.x:
    author, licenseName, otherLicenseUrl), else from glTF ``asset.extras`` (author, license,
    title) and ``asset.copyright`` (kept as written; a licence it names, e.g. "CC-BY 4.0", is
    used). ``license_url`` and ``license_terms`` keep what an SPDX id cannot say.
    """
    asset = js.get("asset") or {}
    extras = asset.get("extras") if isinstance(asset.get("extras"), dict) else {}
    out: dict = {}
    copyright_ = _text(asset.get("copyright"))
    if copyright_:
        out["copyright"] = copyright_
    if info is not None:
        meta = info.meta if isinstance(info.meta, dict) else {}
        v1 = not info.faces_minus_z
        out["author"] = _text(meta.get("authors") if v1 else meta.get("author"))
        out["title"] = _text(meta.get("name") if v1 else meta.get("title"))
        if v1:
            url = _text(meta.get("licenseUrl"))
            out["license"] = _license_of_url(url) or ("NOASSERTION" if url else None)
        else:
            name = meta.get("licenseName")
            url = _text(meta.get("otherLicenseUrl"))
            out["license"] = _VRM0_LICENSES.get(name) or _license_of_url(url) or (
                "NOASSERTION" if name else None)
        out["license_url"] = url
        terms = {k: meta[k] for k in (_VRM1_TERMS if v1 else _VRM0_TERMS)
                 if isinstance(meta.get(k), (str, bool))}
        out["license_terms"] = terms or None
        out["credits_from"] = "VRMC_vrm.meta" if v1 else "VRM.meta"
    else:
        out["author"] = _text(extras.get("author"))
        out["title"] = _text(extras.get("title"))
        lic = _text(extras.get("license"), 100)
        out["license"] = (lic if lic and _SPDX_ID.match(lic) else None) or (
            _license_of_text(copyright_) if copyright_ else None)
        if lic and not _SPDX_ID.match(lic):
            out["license_text"] = lic
        if any(out.get(k) for k in ("author", "title", "license")):
            out["credits_from"] = "asset"
    return {k: v for k, v in out.items() if v is not None}
