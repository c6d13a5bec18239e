"""A character's built-in voice: the ``voice:`` mapping of ``character.yaml``.

::

    voice:
      language: cmn        # en-us, cmn, or any espeak-ng language code / voice name
      variant: f3          # optional: an espeak-ng variant (f1..f5, m1..m8, klatt, ...)
      pitch: 60            # 0..100, default 50
      rate: 160            # words per minute, 80..450, default 175

Built-in voices are scratch voices for timing and animatics; a studio's recording replaces
them line by line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from reskin.core.fields import Fields

DEFAULT_RATE = 175
DEFAULT_PITCH = 50
RATE_RANGE = (80, 450)


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: ``language`` (``en-us``, ``cmn``, ...), optional ``variant``,
    ``pitch`` 0..100 and ``rate`` in words per minute."""

    language: str = "en-us"
    variant: str | None = None
    pitch: int = DEFAULT_PITCH
    rate: int = DEFAULT_RATE

    @property
    def espeak_name(self) -> str:
        """The name espeak-ng selects the voice by: ``language`` or ``language+variant``."""
        return f"{self.language}+{self.variant}" if self.variant else self.language

    def key(self) -> str:
        """A stable text for cache keys."""
        return f"{self.espeak_name}|p{self.pitch}|r{self.rate}"


def parse_voice(f: Fields) -> Voice:
    """The :class:`Voice` of a ``voice:`` mapping; a mistake raises one line naming the line
    (``characters/mei/character.yaml:7: voice.language: no espeak-ng voice 'cnm' (did you mean
    'cmn'?)``)."""
    from reskin.scenes.speech import engine

    language = f.get("language", str, "en-us")
    known = engine.languages()
    if language not in known:
        lower = {k.lower(): k for k in known}
        if language.lower() in lower:
            language = lower[language.lower()]
        else:
            near = _closest(language, sorted(k for k in known if " " not in k))
            hint = f" (did you mean {near!r}?)" if near else ""
            f.error(f"no espeak-ng voice {language!r}{hint}", "language")
    variant = f.get("variant", str, None)
    if variant is not None:
        variants = engine.variants()
        if variant not in variants:
            near = _closest(variant, list(variants))
            hint = f" (did you mean {near!r}?)" if near else ""
            f.error(f"no espeak-ng variant {variant!r}{hint}", "variant")
    pitch = f.get("pitch", int, DEFAULT_PITCH,
                  check=lambda v: None if 0 <= v <= 100 else "must be between 0 and 100")
    lo, hi = RATE_RANGE
    rate = f.get("rate", int, DEFAULT_RATE,
                 check=lambda v: None if lo <= v <= hi else
                 f"must be between {lo} and {hi} words per minute")
    f.done()
    return Voice(language=language, variant=variant, pitch=int(pitch), rate=int(rate))


def _closest(word: str, options: list[str]) -> str | None:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None
