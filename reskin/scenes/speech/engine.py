"""espeak-ng, the library and data that the ``espeakng-loader`` wheel ships, driven through ctypes.

Each synthesis runs in a fresh, small process (:mod:`.espeak_worker`, stdlib only, started
with ``python -S``: about 20 ms) because espeak-ng keeps hidden state between utterances that
would make the same line come out differently timed; a fresh engine is deterministic. It also
makes the engine safe to call from any thread. Nothing is downloaded: the voices and
dictionaries are files inside the wheel.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from reskin.core.errors import ReskinError

LOCK = threading.Lock()
"""Guards the engine's lazily-built paths and voice list (the worker processes share nothing)."""

_WORKER = Path(__file__).with_name("espeak_worker.py")


@dataclass(frozen=True)
class RawSynthesis:
    """What espeak-ng produced for one text: int16 little-endian PCM bytes at ``sample_rate``,
    and ``events`` as ``(kind, symbol, sample)`` with kind ``"phoneme"`` or ``"word"``."""

    pcm: bytes
    sample_rate: int
    events: list[tuple[str, str, int]]


@functools.cache
def _paths() -> tuple[str, str]:
    try:
        import espeakng_loader
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ReskinError("espeakng-loader is not installed: pip install espeakng-loader") \
            from None
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def _run(args: list[str], stdin: bytes = b"") -> tuple[dict, bytes]:
    lib, data = _paths()
    proc = subprocess.run([sys.executable, "-S", str(_WORKER), lib, data, *args], input=stdin,
                          capture_output=True, check=False)
    head, _, body = proc.stdout.partition(b"\n")
    try:
        meta = json.loads(head)
    except ValueError:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"espeak-ng worker failed: {tail[0]}") from None
    if "error" in meta:
        raise ReskinError(meta["error"])
    return meta, body


def synthesize_raw(text: str, voice_name: str, rate: int, pitch: int) -> RawSynthesis:
    """Speak ``text`` with espeak-ng voice ``voice_name`` (``cmn``, ``en-us+f3``) at ``rate``
    words per minute and ``pitch`` 0..100."""
    meta, body = _run(["synth", voice_name, str(int(rate)), str(int(pitch))],
                      text.encode("utf-8"))
    if len(body) != meta["bytes"]:
        raise RuntimeError("espeak-ng worker returned truncated audio")
    events = [(str(k), str(s), int(t)) for k, s, t in meta["events"]]
    return RawSynthesis(body, int(meta["sample_rate"]), events)


@functools.cache
def _voice_list() -> tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...]]:
    with LOCK:
        meta, _ = _run(["voices"])
    voices = tuple((str(i), str(n), tuple(map(str, langs))) for i, n, langs in meta["voices"])
    return str(meta["version"]), voices


def version() -> str:
    """espeak-ng's own version text (``1.52.0``)."""
    return _voice_list()[0]


@functools.cache
def languages() -> frozenset[str]:
    """Every name ``voice.language`` may take: espeak's language codes and voice names."""
    names: set[str] = set()
    for identifier, name, langs in _voice_list()[1]:
        names.update(langs)
        names.add(name)
        names.add(identifier.rsplit("/", 1)[-1])
    return frozenset(n for n in names if n)


@functools.cache
def variants() -> tuple[str, ...]:
    """The voice variants (``voices/!v`` in espeak's data): ``f3``, ``m2``, ``klatt``, ..."""
    folder = Path(_paths()[1]) / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))
