"""Mandarin text to tone-numbered pinyin, so espeak-ng reads every character.

espeak-ng's own ``cmn`` dictionary has gaps (``哪儿`` comes out as English "nar five"), while its
``cmn-latn-pinyin`` voice reads pinyin with tone numbers faithfully. ``jieba`` segments the
text into words and ``pypinyin`` gives each word's reading (its phrase dictionary settles most
polyphones: 银行 yin2 hang2, 行走 xing2 zou3).
"""

from __future__ import annotations

import functools
import re

PINYIN_VOICE = "cmn-latn-pinyin"
"""The espeak-ng voice that reads tone-numbered pinyin."""

MANDARIN = frozenset({"cmn", "zh", "zh-cmn", "cmn-latn-pinyin"})
"""``voice.language`` values whose Chinese characters are read through pinyin."""

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PUNCT = {"，": ",", "、": ",", "。": ".", "？": "?", "！": "!", "；": ";", "：": ":",
          "…": "...", "“": "", "”": "", "‘": "", "’": "", "《": "", "》": "", "（": ",",
          "）": ",", "—": ",", "·": " "}


def has_han(text: str) -> bool:
    """Whether ``text`` holds any Chinese character."""
    return bool(_HAN.search(text))


@functools.cache
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces building its dictionary otherwise
    return jieba


def syllables(text: str) -> list[str]:
    """``text`` as tone-numbered pinyin syllables (``ni3``, ``hao3``; neutral tone ``5``),
    punctuation as ASCII (``,`` ``.`` ``?``) and other runs (Latin words, digits) as given."""
    from pypinyin import Style, pinyin

    words = [w for w in _jieba().lcut(text) if w.strip()]
    out: list[str] = []
    # One reading per character (a word's characters read together, from the phrase table).
    for reading in pinyin(words, style=Style.TONE3, heteronym=False,
                          neutral_tone_with_five=True, errors="default"):
        for token in reading:
            token = "".join(_PUNCT.get(c, c) for c in token).strip()
            if token:
                out.append(token)
    return out


def pinyin_text(text: str) -> str:
    """``text`` rewritten for :data:`PINYIN_VOICE`: syllables joined by spaces, punctuation
    kept so that espeak pauses where the sentence does; ``ü`` written ``v`` as espeak reads it."""
    parts: list[str] = []
    for token in syllables(text):
        if token in {",", ".", "?", "!", ";", ":", "..."}:
            if parts:
                parts[-1] += token
            continue
        parts.append(token.replace("ü", "v"))
    return " ".join(parts)
