"""Lip-sync accuracy: the aligner against the synthesizer's own phoneme events as ground truth.

Sentences (English and Mandarin) are synthesized with a perturbed voice: another variant and
pitch, the rate 15% faster or slower, white noise at 20 dB SNR, resampled to 44.1 kHz or
16 kHz, and all of these at once. The truth is the engine's phoneme events for *that*
rendition; the aligner sees only its audio and the transcript, and aligns it against the
line's own (default) voice. Printed per method (``dtw`` for every line, ``pocketsphinx`` for
the English ones) and per language: phoneme-onset error median and p95 (ms), viseme-per-frame
agreement at 24 fps (the dominant viseme of the face driven by the alignment against the face
driven by the truth), and whether every bilabial run of the truth has a closed-lips frame.

    .venv/bin/python bench/lipsync.py [--quick]

Targets: median <= 20 ms, p95 <= 60 ms, agreement >= 85%, every bilabial closed.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reskin.scenes.speech.align import align  # noqa: E402
from reskin.scenes.speech.synth import resample, synthesize  # noqa: E402
from reskin.scenes.speech.visemes import closures_held, dominant, to_visemes, viseme_track  # noqa: E402,E501
from reskin.scenes.speech.voice import Voice  # noqa: E402

FPS = 24.0
TARGETS = {"median_ms": 20.0, "p95_ms": 60.0, "agreement": 0.85}

SENTENCES = {
    "en-us": [
        "Bob made my map, then we went home.",
        "Please bring me the blue box from the kitchen.",
        "I never thought the summer would end so soon.",
        "Maybe we should move before the storm arrives.",
    ],
    "cmn": [
        "你好，我们明天去北京。",
        "爸爸妈妈回家吃饭，非常高兴。",
        "这是我的女儿，她今年二十岁。",
        "我不明白你为什么不相信我。",
    ],
}
# (name, voice changes, noise SNR dB or None, sample rate the aligner is given or None)
PERTURBATIONS = [
    ("voice", {"variant": "f3", "pitch": 70}, None, None),
    ("rate+15%", {"rate": 201}, None, None),
    ("rate-15%", {"rate": 149}, None, None),
    ("noise20dB", {}, 20.0, None),
    ("resample44k", {}, None, 44100),
    ("resample16k", {}, None, 16000),
    ("all", {"variant": "m3", "pitch": 35, "rate": 149}, 20.0, 44100),
]


def perturbed(text: str, language: str, changes: dict, snr: float | None, sr: int | None,
              seed: int):
    """The perturbed rendition: (audio the aligner sees, its sample rate, truth phonemes)."""
    speech = synthesize(text, Voice(language, **changes))
    audio, rate = speech.pcm, speech.sample_rate
    if snr is not None:
        rng = np.random.default_rng(seed)
        power = float(np.mean(audio ** 2))
        audio = audio + rng.standard_normal(len(audio)).astype(np.float32) * np.sqrt(
            power / 10 ** (snr / 10))
    if sr is not None:
        audio, rate = resample(audio, rate, sr), sr
    return audio.astype(np.float32), rate, speech.phonemes, speech.duration


def onset_errors(truth, aligned, alphabet: str) -> list[float]:
    """|onset error| in ms of every phoneme after the first. Same alphabet: one to one; ARPAbet
    against espeak: phonemes paired where their viseme sequences match (difflib)."""
    if alphabet == "espeak":
        assert [p[0] for p in truth] == [p[0] for p in aligned]
        return [abs(a[1] - t[1]) * 1000 for t, a in zip(truth[1:], aligned[1:], strict=True)]
    tv = [(v, a) for v, a, _b, _s in _firsts(truth, "espeak") if v != "sil"]
    av = [(v, a) for v, a, _b, _s in _firsts(aligned, alphabet) if v != "sil"]
    sm = difflib.SequenceMatcher(a=[v for v, _ in tv], b=[v for v, _ in av], autojunk=False)
    out = []
    for block in sm.get_matching_blocks():
        for k in range(block.size):
            out.append(abs(tv[block.a + k][1] - av[block.b + k][1]) * 1000)
    return out


def _firsts(phonemes, alphabet):
    """The first viseme of each phoneme (its onset), dropping repeats within one phoneme."""
    out = []
    for sym, a, b in phonemes:
        out.append(to_visemes([(sym, a, b)], alphabet)[0])
    return out


def evaluate(methods: list[str], quick: bool) -> dict:
    results: dict[str, dict[str, list]] = {}
    warnings = []
    for language, sentences in SENTENCES.items():
        for si, text in enumerate(sentences[:2] if quick else sentences):
            for pi, (pname, changes, snr, sr) in enumerate(PERTURBATIONS):
                audio, rate, truth, duration = perturbed(text, language, changes, snr, sr,
                                                         seed=100 * si + pi)
                frames = int(np.ceil(duration * FPS)) + 1
                truth_dom = dominant(viseme_track(truth, FPS, frames))
                for method in methods:
                    if method == "pocketsphinx" and not language.startswith("en"):
                        continue
                    al = align(audio, rate, text, Voice(language), method=method,
                               where=f"{language}#{si}/{pname}")
                    bucket = results.setdefault(f"{method}:{language}", {
                        "err": [], "agree": [], "closed": 0, "bilabials": 0, "fallbacks": 0})
                    if al.method != method:
                        # Counted as a miss of this method; its figures stay out of them.
                        bucket["fallbacks"] += 1
                        warnings.append(f"{method}: {al.warning or 'fell back to ' + al.method}")
                        continue
                    track = al.track(audio, rate, FPS, frames)
                    bucket["err"] += onset_errors(truth, al.phonemes, al.alphabet)
                    bucket["agree"].append(float(np.mean(dominant(track) == truth_dom)))
                    closed, total = closures_held(truth, track, FPS)
                    bucket["closed"] += closed
                    bucket["bilabials"] += total
    summary = {}
    for key, b in results.items():
        err = np.array(b["err"]) if b["err"] else np.array([np.nan])
        summary[key] = {
            "median_ms": round(float(np.median(err)), 1),
            "p95_ms": round(float(np.percentile(err, 95)), 1),
            "agreement": round(float(np.mean(b["agree"])) if b["agree"] else 0.0, 3),
            "bilabials_closed": f"{b['closed']}/{b['bilabials']}",
            "all_bilabials_closed": b["closed"] == b["bilabials"],
            "onsets": int(len(b["err"])),
            "fallbacks": b["fallbacks"],
        }
    return {"summary": summary, "warnings": warnings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two sentences per language")
    args = ap.parse_args()
    t0 = time.time()
    out = evaluate(["dtw", "pocketsphinx"], args.quick)
    for key, s in out["summary"].items():
        ok = (s["median_ms"] <= TARGETS["median_ms"] and s["p95_ms"] <= TARGETS["p95_ms"]
              and s["agreement"] >= TARGETS["agreement"] and s["all_bilabials_closed"])
        s["meets_targets"] = bool(ok)
        print(f"{key:22s} onset median {s['median_ms']:6.1f} ms  p95 {s['p95_ms']:6.1f} ms  "
              f"viseme agreement {100 * s['agreement']:5.1f}%  bilabials closed "
              f"{s['bilabials_closed']:>7s}  fallbacks {s['fallbacks']}  "
              f"{'PASS' if ok else 'MISS'}")
    for w in out["warnings"]:
        print("warning:", w)
    dtw = [s for k, s in out["summary"].items() if k.startswith("dtw:")]
    out["targets"] = TARGETS
    out["pass"] = bool(dtw) and all(s["meets_targets"] for s in dtw)
    out["seconds"] = round(time.time() - t0, 1)
    print(json.dumps({k: v for k, v in out.items() if k != "warnings"}))


if __name__ == "__main__":
    main()
