"""Checking and fingerprinting local diffusers-format model folders (nothing is downloaded).

A pipeline folder (what ``StableDiffusionPipeline.save_pretrained`` writes) holds
``model_index.json`` and one sub-folder per component; a ControlNet folder holds
``config.json`` and its weights. :func:`check_pipeline_folder` / :func:`check_controlnet_folder`
raise one :class:`ReskinError` line naming the path and the first thing missing;
:func:`folder_hash` is the content hash of the files a load reads, so a cache key changes when
the weights do and not when the folder moves.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from reskin.core.errors import ReskinError

PIPELINE_COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
"""Components a Stable Diffusion (1.x/2.x-style) img2img run needs."""
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_HASHED_SUFFIXES = _WEIGHT_SUFFIXES + (".json", ".txt", ".model")
_HASH_MEMO: dict[tuple[str, int, int], str] = {}


def _has_weights(folder: Path) -> bool:
    return any(p.suffix in _WEIGHT_SUFFIXES or p.name.endswith(".index.json")
               for p in folder.iterdir() if p.is_file())


def _fail(path: Path, what: str, field: str | None, where: str | None = None) -> ReskinError:
    return ReskinError(f"model folder {path}: {what}", file=where, field=field)


def check_pipeline_folder(path: Path, field: str | None = "style.model",
                          where: str | None = None) -> dict:
    """Validate a diffusers pipeline folder; returns its parsed ``model_index.json``."""
    path = Path(path)
    if not path.is_dir():
        raise _fail(path, "does not exist (expected a local diffusers-format folder; "
                          "nothing is downloaded)", field, where)
    index_path = path / "model_index.json"
    if not index_path.is_file():
        raise _fail(path, "model_index.json is missing (not a diffusers pipeline folder)",
                    field, where)
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(path, f"model_index.json is not valid JSON ({exc})", field, where) from None
    for name in PIPELINE_COMPONENTS:
        entry = index.get(name)
        if not isinstance(entry, list) or len(entry) != 2 or entry[1] is None:
            raise _fail(path, f"model_index.json names no {name!r} component", field, where)
        sub = path / name
        if not sub.is_dir():
            raise _fail(path, f"{name}/ is missing", field, where)
        if name == "tokenizer":
            if not any(sub.glob("*.json")) and not any(sub.glob("*.txt")):
                raise _fail(path, "tokenizer/ has no vocabulary files", field, where)
            continue
        config = "scheduler_config.json" if name == "scheduler" else "config.json"
        if not (sub / config).is_file():
            raise _fail(path, f"{name}/{config} is missing", field, where)
        if name != "scheduler" and not _has_weights(sub):
            raise _fail(path, f"{name}/ has no weights (*.safetensors or *.bin)", field, where)
    return index


def check_controlnet_folder(path: Path, field: str | None = "style.controlnets",
                            where: str | None = None) -> None:
    """Validate a diffusers ControlNet folder (config.json + weights)."""
    path = Path(path)
    if not path.is_dir():
        raise _fail(path, "does not exist (expected a local diffusers ControlNet folder; "
                          "nothing is downloaded)", field, where)
    if not (path / "config.json").is_file():
        raise _fail(path, "config.json is missing (not a diffusers ControlNet folder)",
                    field, where)
    if not _has_weights(path):
        raise _fail(path, "has no weights (*.safetensors or *.bin)", field, where)


def _file_hash(path: Path) -> str:
    st = path.stat()
    memo_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo_key not in _HASH_MEMO:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
        _HASH_MEMO[memo_key] = h.hexdigest()
    return _HASH_MEMO[memo_key]


def folder_hash(path: Path, components: tuple[str, ...] | None = None) -> str:
    """SHA-256 over (relative path, file hash) of the weights, configs and vocabularies.

    ``components`` limits it to those sub-folders (plus top-level files); ``None`` hashes the
    whole folder. File hashes are remembered per process by (path, size, mtime), so a
    multi-gigabyte checkpoint is read once per run, not once per shot.
    """
    path = Path(path)
    files = [p for p in path.iterdir() if p.is_file()]
    subs = [path / c for c in components] if components is not None else [
        p for p in path.iterdir() if p.is_dir()]
    for sub in subs:
        files.extend(p for p in sub.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for p in sorted(files):
        if p.suffix in _HASHED_SUFFIXES:
            h.update(f"{p.relative_to(path).as_posix()}\0{_file_hash(p)}\n".encode())
    return h.hexdigest()
