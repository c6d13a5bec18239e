"""The clips a shot may name: the procedural ones and the series library's clip assets, looked
up once per compile and retargeted once per character skeleton."""

from __future__ import annotations

from pathlib import Path

from reskin.core.clip import Clip
from reskin.core.errors import ReskinError
from reskin.core.skeleton import Skeleton
from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS

BLOCKING_CLIPS = ("sit",)


class ClipSource:
    """Clips by name for a compile: procedural (made per skeleton at the shot's rate), or
    clip assets of the library at ``library_dir`` (opened only when a shot names one)."""

    def __init__(self, library_dir: str | Path | None):
        self.library_dir = Path(library_dir) if library_dir is not None else None
        self._lib = None
        self._assets: dict[str, tuple[Clip, Skeleton, str, str]] = {}
        self._made: dict[tuple, Clip] = {}
        self.derived: dict[tuple, object] = {}
        """What callers compute from these clips (walk cycles), kept as long as the clips."""

    def _library(self):
        if self._lib is None:
            from reskin.assets.library import Library

            if self.library_dir is None or not (self.library_dir / "catalog.sqlite").exists():
                return None
            self._lib = Library(self.library_dir)
        return self._lib

    def close(self) -> None:
        if self._lib is not None:
            self._lib.close()
            self._lib = None

    def names(self) -> list[str]:
        lib = self._library()
        assets = sorted({r.name for r in lib.list("clip")}) if lib is not None else []
        return [*PROCEDURAL_CLIPS, *BLOCKING_CLIPS, *assets]

    def asset(self, ref: str, where: str) -> tuple[Clip, Skeleton, str, str]:
        """(clip, its skeleton, exact ref "walk@1", content hash) of a library clip; a name
        the library lacks raises a one-line error at ``where`` ("file:line|field")."""
        if ref in self._assets:
            return self._assets[ref]
        file, _, fld = where.partition("|")
        lib = self._library()
        try:
            if lib is None:
                raise ReskinError("no library")
            from reskin.rigging.clip_assets import load_clip_asset

            clip, skeleton, record = load_clip_asset(lib, ref)
        except ReskinError:
            import difflib

            options = self.names()
            near = difflib.get_close_matches(ref.split("@")[0], options, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ReskinError(f"unknown clip {ref!r} (clips: {', '.join(options)}{hint}; "
                              "import one with `reskin clip import FILE.bvh --name NAME`)",
                              file=file or None, field=fld or None) from None
        self._assets[ref] = (clip, skeleton, record.ref, record.content_hash)
        return self._assets[ref]

    def identity(self, ref: str, where: str) -> str:
        """What a cache key needs of clip ``ref``: the exact version and content, or the
        procedural clip's name."""
        if ref in PROCEDURAL_CLIPS or ref in BLOCKING_CLIPS:
            return f"procedural:{ref}"
        _, _, exact, content = self.asset(ref, where)
        return f"{exact}:{content}"

    def for_skeleton(self, ref: str, skeleton: Skeleton, fps: float, where: str,
                     key: str) -> Clip:
        """Clip ``ref`` on ``skeleton`` (``key`` names the skeleton for the cache): a
        procedural clip made at ``fps``, a library clip retargeted (feet planted) at its own
        rate."""
        cache = (ref, key, fps)
        if cache in self._made:
            return self._made[cache]
        if ref in PROCEDURAL_CLIPS:
            from reskin.rigging.procedural_clips import make_clip

            clip = make_clip(ref, skeleton, fps)
        else:
            motion, source, exact, _ = self.asset(ref, where)
            from reskin.rigging.clip_assets import retarget_clip

            try:
                clip = retarget_clip(motion, source, skeleton)
            except ValueError as exc:
                file, _, fld = where.partition("|")
                raise ReskinError(f"cannot retarget {exact}: {exc}", file=file or None,
                                  field=fld or None) from None
        self._made[cache] = clip
        return clip
