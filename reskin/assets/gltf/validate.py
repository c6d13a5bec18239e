"""Run the Khronos glTF-Validator (a node package) on GLB/glTF bytes and return its report.

The validator has no Python port, so this shells out to ``tools/gltf-validator/validate.js``
(installed by ``make install``). The tool folder is found from ``RESKIN_GLTF_VALIDATOR`` if set,
else by walking up from this file to the repository root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ENV_VAR = "RESKIN_GLTF_VALIDATOR"
_TOOL_REL = Path("tools") / "gltf-validator"


def validator_dir() -> Path:
    """The folder holding ``validate.js`` and ``node_modules/gltf-validator``.

    Raises RuntimeError when it cannot be found, naming where it looked and how to fix it.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env).expanduser().resolve()
    else:
        here = Path(__file__).resolve()
        candidates = [parent / _TOOL_REL for parent in here.parents]
        # Fallback (for the error message): the repository root, above reskin/assets/gltf/.
        folder = next((c for c in candidates if (c / "validate.js").is_file()), candidates[3])
    missing = [
        p for p in ("validate.js", "node_modules/gltf-validator") if not (folder / p).exists()
    ]
    if missing:
        how = f"set {ENV_VAR} to the folder" if env else "run `make install` in the repository"
        raise RuntimeError(
            f"glTF-Validator not found: {folder} lacks {', '.join(missing)}; {how} "
            f"(it runs `npm install` in {_TOOL_REL})"
        )
    return folder


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(
            "node (Node.js >= 18) is not on PATH; the glTF-Validator in "
            f"{_TOOL_REL} needs it: install Node.js, then run `make install`"
        )
    return node


def validate_gltf_bytes(data: bytes, *, max_issues: int = 100, timeout: float = 300.0) -> dict:
    """Validate a GLB (or glTF JSON) given as bytes; returns the validator's JSON report as a dict.

    The report has ``issues.numErrors``, ``numWarnings``, ``numInfos``, ``numHints`` and
    ``issues.messages`` (each with ``code``, ``message``, ``severity`` 0=error..3=hint and
    usually a JSON ``pointer``). External URIs are not loaded: pass self-contained assets.
    """
    folder = validator_dir()
    proc = subprocess.run(
        [_node(), str(folder / "validate.js"), "-", "--max-issues", str(int(max_issues))],
        input=bytes(data),
        capture_output=True,
        cwd=folder,  # so require() resolves this folder's node_modules whatever our cwd is
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"glTF-Validator failed (exit {proc.returncode}): {err}")
    return json.loads(proc.stdout)


def validate_many(blobs: list[bytes], *, max_issues: int = 100, timeout: float = 600.0
                  ) -> list[dict]:
    """:func:`validate_gltf_bytes` of each of ``blobs`` (GLB or glTF JSON), in one node process
    (starting node costs about as much as validating a small file); reports in order."""
    import tempfile

    if not blobs:
        return []
    folder = validator_dir()
    with tempfile.TemporaryDirectory(prefix="reskin-validate-") as tmp:
        paths = []
        for i, data in enumerate(blobs):
            path = Path(tmp) / f"{i}.{'glb' if bytes(data[:4]) == b'glTF' else 'gltf'}"
            path.write_bytes(bytes(data))
            paths.append(str(path))
        proc = subprocess.run(
            [_node(), str(folder / "validate_many.js"), "--max-issues", str(int(max_issues)),
             *paths],
            capture_output=True, cwd=folder, timeout=timeout, check=False)
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0 or len(lines) != len(blobs):
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"glTF-Validator failed (exit {proc.returncode}): {err}")
    reports = [json.loads(line) for line in lines]
    for report in reports:
        if "error" in report:
            raise RuntimeError(f"glTF-Validator failed: {report['error']}")
    return reports


def errors_of(report: dict) -> list[str]:
    """The report's errors (severity 0) as ``"CODE at /pointer: message"`` strings."""
    out = []
    for msg in report.get("issues", {}).get("messages", []):
        if msg.get("severity") == 0:
            where = msg.get("pointer") or (f"byte {msg['offset']}" if "offset" in msg else "")
            out.append(f"{msg.get('code')} at {where or '?'}: {msg.get('message')}")
    return out
