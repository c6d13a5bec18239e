"""Talk to a Blender worker process with plain data. Imports no bpy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from reskin.core.errors import ReskinError


class BlenderWorker:
    """A long-lived ``python -m reskin.render.blender.worker`` process.

    Importing bpy costs about a second and each character import more, so one worker renders
    every shot of a build. Use as a context manager; ``close()`` ends the process.
    """

    def __init__(self, log_path: str | Path):
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "reskin.render.blender.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
            bufsize=1,
        )
        hello = self._read()
        if not hello.get("ready"):
            raise self._died("did not start")
        self.blender_version = hello.get("blender", "?")

    @property
    def pid(self) -> int:
        """The Blender process (for tests that kill it, and for logs)."""
        return self._proc.pid

    def __enter__(self) -> BlenderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._send({"op": "quit"})
                self._proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def render_shot(self, shot: dict, progress: Callable[[int, int], None] | None = None) -> dict:
        """Render ``shot`` (a plan from reskin.scenes.compile, as a dict); returns the reply."""
        self._send({"op": "render_shot", "shot": shot})
        while True:
            msg = self._read()
            if "progress" in msg:
                if progress is not None:
                    progress(msg["progress"], msg["of"])
                continue
            if not msg.get("ok"):
                raise ReskinError(f"Blender could not render shot: {msg.get('error')} "
                                  f"(log: {self.log_path})", field=shot.get("name"))
            return msg

    def devices(self) -> dict:
        """Cycles' devices as the worker sees them: ``listed`` (backend -> devices as
        ``{"id", "name", "type"}``), and the choice it renders with: ``compute_type``,
        ``device_ids``, ``cycles_device`` ("CPU" or "GPU")."""
        self._send({"op": "devices"})
        msg = self._read()
        if not msg.get("ok"):
            raise ReskinError(f"Blender could not list devices: {msg.get('error')} "
                              f"(log: {self.log_path})", file=self.log_path)
        return msg

    def convert(self, src: str | Path, out: str | Path) -> dict:
        """Convert ``src`` (an FBX) to the GLB ``out`` with Blender's importer and exporter.

        Returns the worker's reply (``blender`` version, ``meshes``, ``armatures``, ``actions``,
        ``images`` read from disk). A file Blender cannot read, or one without a mesh, raises
        ReskinError naming ``src``; ``out`` is then not written. The worker stays usable.
        """
        self._send({"op": "convert", "src": str(src), "out": str(out)})
        msg = self._read()
        if not msg.get("ok"):
            if msg.get("refused"):
                raise ReskinError(msg.get("error", "Blender refused the file"), file=src)
            raise ReskinError(f"Blender could not convert it: {msg.get('error')} "
                              f"(log: {self.log_path})", file=src)
        return msg

    def _send(self, obj: dict) -> None:
        try:
            self._proc.stdin.write(json.dumps(obj) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise self._died("stopped") from None

    def _read(self) -> dict:
        line = self._proc.stdout.readline()
        if not line:
            raise self._died("stopped")
        return json.loads(line)

    def _died(self, what: str) -> ReskinError:
        code = self._proc.wait()
        tail = ""
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            tail = lines[-1] if lines else ""
        except OSError:
            pass
        hint = ""
        if code == -6:  # SIGABRT: Blender aborts when an engine needs GL and EGL is missing
            hint = " (an abort usually means no EGL: install libegl1 libegl-mesa0)"
        return ReskinError(
            f"Blender worker {what} with exit code {code}{hint}; last log line: {tail!r}",
            file=self.log_path,
        )
