"""The build cache: outputs keyed by the hash of their inputs, complete only when marked done.

A folder ``<kind>/<key>/`` fills with frames (each renamed into place when whole) and gets a
``done.json`` last. A build killed midway leaves some frames and no marker: the next build
renders only the frames that are missing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from reskin.core.atomic import write_text_atomic


class StepCache:
    def __init__(self, root: Path, kind: str, key: str, prefix: str, count: int):
        self.dir = root / kind / key
        self.prefix = prefix
        self.count = count

    def frame(self, i: int) -> Path:
        return self.dir / f"{self.prefix}_{i:04d}.png"

    @property
    def frames(self) -> list[Path]:
        return [self.frame(i) for i in range(self.count)]

    def missing(self) -> list[int]:
        # Plain strings and os.path, not Path objects: a no-op build asks this of thousands
        # of shots, and pathlib's joins cost more than the stat calls.
        folder, prefix = os.fspath(self.dir), self.prefix
        return [i for i in range(self.count)
                if not os.path.exists(os.path.join(folder, f"{prefix}_{i:04d}.png"))]

    def is_done(self) -> bool:
        try:
            with open(os.path.join(os.fspath(self.dir), "done.json"), "rb") as fh:
                ok = json.loads(fh.read()).get("frames") == self.count
        except (OSError, ValueError, AttributeError):
            return False
        return ok and not self.missing()

    def mark_done(self, **info: object) -> None:
        write_text_atomic(self.dir / "done.json", json.dumps({"frames": self.count, **info}))


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (same bytes, no copy), falling back to a copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
