"""Phonemes to the canonical face's visemes, and per-frame viseme weights with coarticulation.

Tables map espeak-ng's phoneme mnemonics (English, Mandarin and, by their shared ASCII
conventions, most other languages), IPA, ARPAbet (pocketsphinx / cmudict) and pinyin syllables
(initial + final) onto the 15 visemes of :data:`reskin.rigging.face_names.VISEMES`. A
diphthong or a pinyin syllable becomes a short sequence (``aI`` -> ``aa`` then ``I``).

:func:`viseme_track` turns timed phonemes into ``(frames, 16)`` weights (the 15 visemes, then
``jawOpen``) the way a mouth moves rather than a lookup per frame: every segment has a
dominance that ramps in before it (anticipation, longer) and out after it (carry-over,
shorter); the weights at a frame are the dominance-normalised mix (Cohen & Massaro's model),
so lips already round for the ``U`` during the ``t`` of "two". Bilabials are strong and never
lost: every p/b/m holds ``PP`` at full for at least one frame even when shorter than a frame.
The jaw follows the vowels (:data:`reskin.rigging.face_names.JAW_OPEN`, stressed vowels wider)
and long pauses fall back to the rest pose (``sil``), as do the frames outside the line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from reskin.rigging.face_names import JAW_OPEN, VISEMES

TRACK_CHANNELS: tuple[str, ...] = VISEMES + ("jawOpen",)
"""Columns of a viseme track: the 15 canonical visemes, then ``jawOpen``."""
JAW = len(VISEMES)
_INDEX = {v: i for i, v in enumerate(VISEMES)}

ALPHABETS = ("espeak", "ipa", "arpabet", "pinyin", "viseme")
"""Phoneme alphabets :func:`to_visemes` reads (``viseme``: the symbols already are visemes)."""

# espeak-ng mnemonics, stress (' , %) and length (:) marks removed. English first, then the
# Mandarin set of the cmn voices (ts.h = ch, tS;h = q, s. = sh, z. = r, X = h, y = ü).
_ESPEAK: dict[str, tuple[str, ...]] = {
    # bilabials, labiodentals, dentals
    "p": ("PP",), "b": ("PP",), "m": ("PP",), "ph": ("PP",), "m-": ("PP",),
    "f": ("FF",), "v": ("FF",), "T": ("TH",), "D": ("TH",),
    # alveolars, velars
    "t": ("DD",), "d": ("DD",), "th": ("DD",), "t#": ("DD",), "d#": ("DD",), "?": ("sil",),
    "n": ("nn",), "n-": ("nn",), "l": ("nn",), "l-": ("nn",), "L": ("nn",), "@L": ("E", "nn"),
    "k": ("kk",), "g": ("kk",), "kh": ("kk",), "N": ("kk",), "x": ("kk",), "X": ("kk",),
    "h": ("kk",), "j": ("I",), "w": ("U",),
    # post-alveolars, sibilants, rhotics
    "tS": ("CH",), "dZ": ("CH",), "S": ("CH",), "Z": ("CH",), "tS;": ("CH",), "tS;h": ("CH",),
    "S;": ("CH",), "ts.": ("CH",), "ts.h": ("CH",), "s.": ("CH",), "z.": ("RR",),
    "s": ("SS",), "z": ("SS",), "ts": ("SS",), "tsh": ("SS",), "dz": ("SS",),
    "r": ("RR",), "r-": ("RR",), "R": ("RR",), "3": ("RR",), "@r": ("RR",), "3r": ("RR",),
    # vowels
    "a": ("aa",), "aa": ("aa",), "A": ("aa",), "a#": ("aa",), "V": ("aa",), "A@": ("aa", "RR"),
    "0": ("O",), "O": ("O",), "O@": ("O", "RR"), "o": ("O",), "o-": ("O",), "@": ("E",),
    "@2": ("E",), "@5": ("E",), "E": ("E",), "e": ("E",), "e@": ("E", "RR"), "e#": ("E",),
    "I": ("I",), "i": ("I",), "I2": ("I",), "I#": ("I",), "i@": ("I", "E"), "i@3": ("I", "RR"),
    "i.": ("I",), "i[": ("I",), "U": ("U",), "u": ("U",), "U@": ("U", "RR"), "y": ("U",),
    "eI": ("E", "I"), "aI": ("aa", "I"), "aU": ("aa", "U"), "OI": ("O", "I"),
    "oU": ("O", "U"), "ai": ("aa", "I"), "ei": ("E", "I"), "Au": ("aa", "U"), "ou": ("O", "U"),
    "uei": ("U", "E", "I"), "uo": ("U", "O"), "ua": ("U", "aa"), "uai": ("U", "aa", "I"),
    "iA": ("I", "aa"), "iE": ("I", "E"), "iAu": ("I", "aa", "U"), "iou": ("I", "O", "U"),
    "ia": ("I", "aa"), "yE": ("U", "E"), "ong": ("O", "kk"), "u@": ("U", "E"), "ye": ("U", "E"),
    "aI@": ("aa", "I", "E"), "aU@": ("aa", "U", "E"), "3:": ("RR",),
}
# First-character fallback for other languages' mnemonics (espeak shares these letters).
_ESPEAK_FIRST: dict[str, str] = {
    "p": "PP", "b": "PP", "m": "PP", "f": "FF", "v": "FF", "T": "TH", "D": "TH", "t": "DD",
    "d": "DD", "n": "nn", "l": "nn", "L": "nn", "J": "nn", "k": "kk", "g": "kk", "q": "kk",
    "G": "kk", "N": "kk", "x": "kk", "X": "kk", "h": "kk", "c": "kk", "j": "I", "w": "U",
    "W": "U", "S": "CH", "Z": "CH", "C": "CH", "s": "SS", "z": "SS", "r": "RR", "R": "RR",
    "a": "aa", "A": "aa", "V": "aa", "&": "aa", "0": "O", "O": "O", "o": "O", "@": "E",
    "E": "E", "e": "E", "3": "RR", "I": "I", "i": "I", "y": "U", "Y": "U", "u": "U", "U": "U",
}
_ARPABET: dict[str, tuple[str, ...]] = {
    "AA": ("aa",), "AE": ("aa",), "AH": ("aa",), "AO": ("O",), "AW": ("aa", "U"),
    "AY": ("aa", "I"), "EH": ("E",), "ER": ("RR",), "EY": ("E", "I"), "IH": ("I",),
    "IY": ("I",), "OW": ("O", "U"), "OY": ("O", "I"), "UH": ("U",), "UW": ("U",),
    "B": ("PP",), "P": ("PP",), "M": ("PP",), "F": ("FF",), "V": ("FF",), "TH": ("TH",),
    "DH": ("TH",), "T": ("DD",), "D": ("DD",), "N": ("nn",), "L": ("nn",), "K": ("kk",),
    "G": ("kk",), "NG": ("kk",), "HH": ("kk",), "CH": ("CH",), "JH": ("CH",), "SH": ("CH",),
    "ZH": ("CH",), "S": ("SS",), "Z": ("SS",), "R": ("RR",), "W": ("U",), "Y": ("I",),
    "SIL": ("sil",), "SP": ("sil",), "+NSN+": ("sil",), "+SPN+": ("sil",),
}
_IPA_FIRST: dict[str, str] = {
    "p": "PP", "b": "PP", "m": "PP", "ɸ": "FF", "β": "FF", "f": "FF", "v": "FF", "ɱ": "FF",
    "θ": "TH", "ð": "TH", "t": "DD", "d": "DD", "ɾ": "DD", "ʈ": "DD", "ɖ": "DD", "n": "nn",
    "l": "nn", "ɫ": "nn", "ɲ": "nn", "ɳ": "nn", "ʎ": "nn", "k": "kk", "g": "kk", "ɡ": "kk",
    "q": "kk", "ŋ": "kk", "x": "kk", "χ": "kk", "ɣ": "kk", "h": "kk", "ɦ": "kk", "c": "kk",
    "j": "I", "w": "U", "ɥ": "U", "ʃ": "CH", "ʒ": "CH", "ɕ": "CH", "ʑ": "CH", "ʂ": "CH",
    "ʐ": "RR", "s": "SS", "z": "SS", "r": "RR", "ɹ": "RR", "ɻ": "RR", "ʁ": "RR", "ɚ": "RR",
    "ɝ": "RR", "a": "aa", "ɑ": "aa", "æ": "aa", "ʌ": "aa", "ɐ": "aa", "ɒ": "O", "ɔ": "O",
    "o": "O", "ɤ": "E", "ə": "E", "ɛ": "E", "e": "E", "ɜ": "E", "ɪ": "I", "i": "I", "ɨ": "I",
    "ɯ": "U", "y": "U", "ʏ": "U", "ʊ": "U", "u": "U", "ø": "O", "œ": "E", "ʔ": "sil",
}
# Pinyin: initials, then the letters of the final (nasal codas n / ng as nn / kk).
_PINYIN_INITIALS: tuple[tuple[str, str], ...] = (
    ("zh", "CH"), ("ch", "CH"), ("sh", "CH"), ("b", "PP"), ("p", "PP"), ("m", "PP"),
    ("f", "FF"), ("d", "DD"), ("t", "DD"), ("n", "nn"), ("l", "nn"), ("g", "kk"), ("k", "kk"),
    ("h", "kk"), ("j", "CH"), ("q", "CH"), ("x", "CH"), ("r", "RR"), ("z", "SS"), ("c", "SS"),
    ("s", "SS"), ("y", "I"), ("w", "U"),
)
_PINYIN_FINALS: dict[str, tuple[str, ...]] = {
    "a": ("aa",), "o": ("O",), "e": ("E",), "i": ("I",), "u": ("U",), "v": ("U",),
    "ü": ("U",), "er": ("RR",), "ai": ("aa", "I"), "ei": ("E", "I"), "ao": ("aa", "U"),
    "ou": ("O", "U"), "an": ("aa", "nn"), "en": ("E", "nn"), "ang": ("aa", "kk"),
    "eng": ("E", "kk"), "ong": ("O", "kk"), "ia": ("I", "aa"), "ie": ("I", "E"),
    "iao": ("I", "aa", "U"), "iu": ("I", "O", "U"), "iou": ("I", "O", "U"),
    "ian": ("I", "E", "nn"), "in": ("I", "nn"), "iang": ("I", "aa", "kk"), "ing": ("I", "kk"),
    "iong": ("I", "O", "kk"), "ua": ("U", "aa"), "uo": ("U", "O"), "uai": ("U", "aa", "I"),
    "ui": ("U", "E", "I"), "uei": ("U", "E", "I"), "uan": ("U", "aa", "nn"),
    "un": ("U", "E", "nn"), "uen": ("U", "E", "nn"), "uang": ("U", "aa", "kk"),
    "ueng": ("U", "E", "kk"), "ve": ("U", "E"), "üe": ("U", "E"), "ue": ("U", "E"),
    "van": ("U", "E", "nn"), "üan": ("U", "E", "nn"), "vn": ("U", "nn"), "ün": ("U", "nn"),
}
_STRESS = re.compile(r"^['\",%=]+")


def _espeak(sym: str) -> tuple[str, ...]:
    if sym.startswith("_") or not sym:
        return ("sil",)
    base = _STRESS.sub("", sym)
    for cand in (base, base.rstrip(":"), base.replace(":", "")):
        if cand in _ESPEAK:
            return _ESPEAK[cand]
    return (_ESPEAK_FIRST.get(base[:1], "E"),)


def _arpabet(sym: str) -> tuple[str, ...]:
    base = sym.upper().rstrip("012")
    return _ARPABET.get(base, ("sil",) if base.startswith(("+", "<", "SIL")) else ("E",))


def _ipa(sym: str) -> tuple[str, ...]:
    base = sym.lstrip("ˈˌ'").rstrip("ː")
    if not base:
        return ("sil",)
    out = [_IPA_FIRST[c] for c in base if c in _IPA_FIRST]
    # Affricates and diphthongs: keep the distinct visemes in order (tʃ -> CH, aɪ -> aa I).
    if len(out) > 1 and out[0] in ("DD", "kk") and out[1] in ("CH", "SS", "RR"):
        out = out[1:]
    dedup = [v for i, v in enumerate(out) if i == 0 or v != out[i - 1]]
    return tuple(dedup) or ("E",)


def pinyin_visemes(syllable: str) -> tuple[str, ...]:
    """The visemes of one pinyin syllable (tone digits ignored): ``zhuang1`` -> CH U aa kk."""
    s = syllable.lower().rstrip("012345")
    if not s or not s[0].isalpha():
        return ("sil",)
    initial = ()
    for ini, vis in _PINYIN_INITIALS:
        if s.startswith(ini) and len(s) > len(ini):
            initial, s = (vis,), s[len(ini):]
            break
    if initial == ("CH",) and s[:1] == "u" and syllable[:1] in "jqx":
        s = "v" + s[1:]  # ju, qu, xu are ü
    final = _PINYIN_FINALS.get(s)
    if final is None:
        final = tuple(_PINYIN_FINALS.get(c, ("E",))[0] for c in s) or ("E",)
    if initial and final[0] == initial[0]:
        final = final[1:] or final
    return initial + final


def to_visemes(phonemes: Sequence[tuple[str, float, float]], alphabet: str = "espeak"
               ) -> list[tuple[str, float, float, bool]]:
    """Timed phonemes ``(symbol, start_s, end_s)`` as timed visemes ``(viseme, start_s, end_s,
    stressed)``; a phoneme with several visemes shares its time (the first part longer)."""
    if alphabet not in ALPHABETS:
        raise ValueError(f"unknown phoneme alphabet {alphabet!r}")
    out: list[tuple[str, float, float, bool]] = []
    for sym, start, end in phonemes:
        if alphabet == "espeak":
            vis = _espeak(sym)
        elif alphabet == "arpabet":
            vis = _arpabet(sym)
        elif alphabet == "ipa":
            vis = _ipa(sym)
        elif alphabet == "pinyin":
            vis = pinyin_visemes(sym)
        else:
            vis = (sym,) if sym in _INDEX else ("sil",)
        stressed = sym.startswith(("'", "ˈ")) or sym[-1:] in ("1",)
        if len(vis) == 1:
            out.append((vis[0], start, end, stressed))
            continue
        # A glide's first target carries most of the sound: 1.5 shares, the rest 1 each.
        shares = np.array([1.5] + [1.0] * (len(vis) - 1))
        edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(shares) / shares.sum()])
        for i, v in enumerate(vis):
            out.append((v, float(edges[i]), float(edges[i + 1]), stressed))
    return out


# Coarticulation: how early a segment's shape starts to form, how long it lingers (seconds),
# and how strongly it holds against its neighbours (lips: strong; tongue: weak).
LEAD_S = 0.07
LAG_S = 0.045
_STRENGTH = {"PP": 1.2, "FF": 1.0, "TH": 0.6, "DD": 0.4, "kk": 0.35, "CH": 0.9, "SS": 0.7,
             "nn": 0.4, "RR": 0.8, "aa": 1.2, "E": 1.0, "I": 1.0, "O": 1.2, "U": 1.2}
REST_PAUSE_S = 0.25
"""A pause at least this long returns the mouth to rest (shorter ones keep it in the line)."""
CLOSED = 0.9
"""A closure frame holds ``PP`` at least this much."""


def viseme_track(phonemes: Sequence[tuple[str, float, float]], fps: float, frames: int,
                 alphabet: str = "espeak", start_s: float = 0.0) -> np.ndarray:
    """Per-frame weights ``(frames, 16)`` float32: columns :data:`TRACK_CHANNELS`.

    ``phonemes`` are ``(symbol, start_s, end_s)`` in ``alphabet``, timed from the line's start;
    frame ``i`` shows time ``start_s + i / fps`` of the line (``start_s`` negative when the
    line begins after the shot starts). Viseme weights at a frame sum to 1 (``sil`` is rest);
    ``jawOpen`` is 0..1. Every bilabial segment has a frame with ``PP >= CLOSED`` and the jaw shut.
    """
    out = np.zeros((frames, len(TRACK_CHANNELS)), dtype=np.float32)
    out[:, _INDEX["sil"]] = 1.0
    segs = to_visemes(phonemes, alphabet)
    if frames <= 0 or not segs:
        return out
    t = start_s + np.arange(frames, dtype=np.float64) / float(fps)
    a = np.array([s[1] for s in segs])
    b = np.array([s[2] for s in segs])
    vis = np.array([_INDEX.get(s[0], 0) for s in segs])
    strength = np.array([_segment_strength(s) for s in segs])
    # Dominance (frames, segments): 1 inside, Gaussian ramps before (lead) and after (lag).
    before = np.clip(a[None, :] - t[:, None], 0.0, None)
    after = np.clip(t[:, None] - b[None, :], 0.0, None)
    dom = np.exp(-(before / LEAD_S) ** 2 - (after / LAG_S) ** 2) * strength[None, :]
    # Where no phoneme is (before, after and between lines) the mouth eases back to rest.
    gap = (before + after).min(axis=1)
    rest = 1.0 - np.exp(-(gap / LEAD_S) ** 2)
    total = dom.sum(axis=1) + rest * 4.0 + 1e-9
    weights = np.zeros((frames, len(VISEMES)))
    for k in range(len(VISEMES)):
        weights[:, k] = dom[:, vis == k].sum(axis=1)
    weights[:, _INDEX["sil"]] += rest * 4.0
    weights /= total[:, None]
    jaw_target = np.array([_jaw(s) for s in segs])
    jaw = (dom * jaw_target[None, :]).sum(axis=1) / total
    out[:, :JAW] = weights
    out[:, JAW] = np.clip(jaw, 0.0, 1.0)
    _hold_closures(out, segs, t, fps)
    return out


def _segment_strength(seg: tuple[str, float, float, bool]) -> float:
    vis, a, b, stressed = seg
    if vis == "sil":
        # A long pause rests the mouth; a short one (a stop's closure, a syllable gap) barely
        # interrupts the line.
        return 0.15 + 2.0 * min(1.0, max(0.0, (b - a - 0.08) / (REST_PAUSE_S - 0.08)))
    return _STRENGTH.get(vis, 1.0) * (1.2 if stressed else 1.0)


def _jaw(seg: tuple[str, float, float, bool]) -> float:
    vis, _a, _b, stressed = seg
    return JAW_OPEN.get(vis, 0.0) * (1.15 if stressed else 1.0)


def _hold_closures(out: np.ndarray, segs, t: np.ndarray, fps: float) -> None:
    """Give every bilabial run at least one frame with the lips shut (``PP`` >= CLOSED, jaw 0).

    Adjacent bilabials (the ``m b`` of "Tom bought") are one closure."""
    pp = _INDEX["PP"]
    runs: list[list[float]] = []
    for vis, a, b, _s in segs:
        if vis != "PP":
            continue
        if runs and abs(runs[-1][1] - a) < 1e-6:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    frames = len(t)
    for a, b in runs:
        inside = np.nonzero((t >= a) & (t < b))[0]
        if inside.size:
            # The frame inside where the lips are already most closed.
            idx = inside if (out[inside, pp] >= CLOSED).any() else \
                [inside[np.argmax(out[inside, pp])]]
        else:
            near = int(round(((a + b) / 2 - t[0]) * fps))
            if not 0 <= near < frames:
                continue
            idx = [near]
        for i in idx:
            others = out[i, :JAW].sum() - out[i, pp]
            if others > 1e-9:
                out[i, :JAW] *= (1.0 - CLOSED) / others  # the rest of the mix keeps its shape
            out[i, pp] = CLOSED if others > 1e-9 else 1.0
            out[i, JAW] = 0.0


def dominant(track: np.ndarray) -> np.ndarray:
    """The index of the heaviest viseme at each frame ``(frames,)`` of a ``(frames, 16)`` track."""
    return np.argmax(track[:, :JAW], axis=1)


def closures_held(phonemes: Sequence[tuple[str, float, float]], track: np.ndarray, fps: float,
                  alphabet: str = "espeak", start_s: float = 0.0) -> tuple[int, int]:
    """``(closed, total)``: how many bilabial runs of ``phonemes`` have a frame of ``track``
    with ``PP >= CLOSED`` and the jaw shut, within one frame of the run."""
    segs = [s for s in to_visemes(phonemes, alphabet) if s[0] == "PP"]
    runs: list[list[float]] = []
    for _v, a, b, _s in segs:
        if runs and abs(runs[-1][1] - a) < 1e-6:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    pp = _INDEX["PP"]
    t = start_s + np.arange(len(track)) / float(fps)
    closed = 0
    counted = 0
    for a, b in runs:
        window = (t >= a - 1.0 / fps) & (t <= b + 1.0 / fps)
        if not window.any():
            continue
        counted += 1
        ok = (track[window, pp] >= CLOSED - 1e-6) & (track[window, JAW] <= 0.05)
        closed += int(ok.any())
    return closed, counted


def energy_track(audio: np.ndarray, sample_rate: int, fps: float, frames: int,
                 start_s: float = 0.0) -> np.ndarray:
    """A jaw driven by loudness alone ``(frames, 16)``: for a line whose alignment failed.

    Frame ``i`` shows ``start_s + i / fps`` of ``audio`` ``(n,)``. The RMS envelope (25 ms
    windows) normalised to the line's loud parts opens the jaw and mixes ``aa`` over ``sil``;
    quiet frames rest.
    """
    out = np.zeros((frames, len(TRACK_CHANNELS)), dtype=np.float32)
    out[:, _INDEX["sil"]] = 1.0
    x = np.asarray(audio, dtype=np.float64)
    if frames <= 0 or x.size == 0:
        return out
    win = max(1, int(0.025 * sample_rate))
    centres = ((start_s + np.arange(frames) / fps) * sample_rate).astype(np.int64)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    lo = np.clip(centres - win, 0, x.size)
    hi = np.clip(centres + win, 0, x.size)
    rms = np.sqrt((csum[hi] - csum[lo]) / np.maximum(hi - lo, 1))
    ref = np.percentile(rms[rms > 0], 95) if (rms > 0).any() else 0.0
    level = np.clip(rms / ref, 0.0, 1.0) if ref > 0 else np.zeros(frames)
    level = np.where(level < 0.1, 0.0, level)  # the noise floor stays closed
    open_ = np.convolve(level, [0.25, 0.5, 0.25], mode="same")  # no frame-to-frame chatter
    out[:, _INDEX["aa"]] = 0.6 * open_
    out[:, _INDEX["sil"]] = 1.0 - 0.6 * open_
    out[:, JAW] = 0.6 * open_
    return out
