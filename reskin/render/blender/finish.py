"""Finishing rendered frames on a background thread while the next frame renders.

What is left of a frame once Blender has saved its PNG and its scratch EXR needs no bpy: the
pass channels are copied to the compressed passes EXR (:func:`reskin.render.exr.write_passes_exr`)
and both files are renamed into place. Cycles releases Python's lock while it renders, so this
runs beside the next frame's render instead of after it. Imports no bpy (the worker uses it).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from reskin.render.exr import write_passes_exr


def finish_frame(png_tmp: str, png: str, scratch: str | None = None, exr_tmp: str = "",
                 exr: str = "", passes: tuple[str, ...] = ()) -> None:
    """Put one frame's files in place: the passes EXR first (written to ``exr_tmp`` from the
    scratch EXR, which is removed, then renamed to ``exr``), then the beauty PNG, so a finished
    beauty frame always has its passes. Without ``scratch`` only the PNG is renamed."""
    if scratch is not None:
        try:
            write_passes_exr(scratch, exr_tmp, passes)
        finally:
            os.remove(scratch)
        os.replace(exr_tmp, exr)
    os.replace(png_tmp, png)


class FrameFinisher:
    """One background thread finishing frames in the order they were handed in."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reskin-finish")
        self._pending: deque[tuple[int, Future]] = deque()

    def submit(self, frame: int, job: Callable[..., None], *args: object, **kwargs: object
               ) -> None:
        """Run ``job(*args, **kwargs)`` for ``frame`` after the frames handed in before it."""
        self._pending.append((frame, self._pool.submit(job, *args, **kwargs)))

    def finished(self, block: bool = False) -> list[int]:
        """The frames finished since the last call, in order; with ``block`` every pending
        frame, waiting for them. A frame whose job failed raises its error."""
        out = []
        while self._pending and (block or self._pending[0][1].done()):
            frame, future = self._pending.popleft()
            future.result()
            out.append(frame)
        return out

    def abandon(self) -> None:
        """Wait for every pending job and drop it, errors included (a request that failed
        already: its own error is the one reported); the scratch files are gone after."""
        wait([f for _, f in self._pending])
        self._pending.clear()
