"""The build's speech stage: every line's sound and phoneme times, made once and kept on disk.

Runs after the inputs are read and before anything is made or compiled. Each line gets a
:class:`reskin.scenes.dialogue.Voiced`: its speaker's built-in voice speaks the text
(espeak-ng's own phoneme times), or the studio's recording (``audio:``) is read and the text
aligned to it (:func:`reskin.scenes.speech.align.align`; a warning names the line when it falls
back to the energy jaw). Each is cached under ``.reskin/cache/speech/`` by a key of the voice,
the text, the recording's hash and the engine's version, so editing one line makes only that
line again. The episodes come back timed (:func:`reskin.scenes.dialogue.time_episode`).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from reskin.assets.character_spec import CharacterSpec
from reskin.core.errors import ReskinError
from reskin.core.hashing import key_of
from reskin.pipeline.context import Log
from reskin.scenes.dialogue import Voiced, time_episode
from reskin.scenes.episode import NARRATOR, Episode, Line
from reskin.scenes.series import SeriesConfig
from reskin.scenes.speech.voice import Voice

SPEECH_STAGE_VERSION = "1"
"""Part of every speech key: a change to what is stored makes every line again."""


def character_voice(spec: CharacterSpec) -> Voice:
    """``spec``'s built-in voice (its ``voice:`` mapping; the default voice without one). A bad
    mapping raises one line naming character.yaml, its line and field."""
    from reskin.scenes.speech.voice import parse_voice

    return parse_voice(spec.voice_fields) if spec.voice_fields is not None else Voice()


def cast_voices(cast: Mapping[str, CharacterSpec], series: SeriesConfig) -> dict[str, Voice]:
    """Speaker name -> voice: every character's, and ``narrator``'s from series.yaml."""
    voices = {name: character_voice(spec) for name, spec in cast.items()}
    voices[NARRATOR] = series.narrator or Voice()
    return voices


def speech_key(voice: Voice, text: str, audio_sha256: str | None) -> str:
    """The cache key of a line's speech: what the sound and the phoneme times depend on."""
    from reskin.scenes.speech.synth import ENGINE_VERSION

    return key_of("speech", SPEECH_STAGE_VERSION, ENGINE_VERSION, voice.key(), text,
                  audio_sha256)


def _split(where: str) -> tuple[str | None, str | None]:
    file, _, path = where.partition("|")
    return file or None, path or None


class SpeechStage:
    """Makes (or finds) every line's speech.

    cache_dir : where speech is kept (``<build cache>/speech``); None keeps nothing
    store     : False reads the cache but writes nothing (a dry run)
    made      : the labels of the lines made by this stage (not found in the cache)
    """

    def __init__(self, cache_dir: Path | None, *, log: Log | None = None, store: bool = True):
        self.cache_dir = cache_dir
        self.store = store and cache_dir is not None
        self.log = log or (lambda msg: None)
        self.made: list[str] = []

    def _path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{key}.npz"

    def _load(self, key: str) -> Voiced | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                pcm = np.asarray(data["pcm"], np.float32)
        except (OSError, ValueError, KeyError):
            return None  # a damaged entry is made again
        return Voiced(key=key, pcm=pcm, sample_rate=int(meta["sample_rate"]),
                      phonemes=tuple((s, float(a), float(b)) for s, a, b in meta["phonemes"]),
                      alphabet=meta["alphabet"], method=meta["method"], warning=meta["warning"])

    def _save(self, v: Voiced) -> None:
        from reskin.core.atomic import write_bytes_atomic

        path = self._path(v.key)
        if not self.store or path is None:
            return
        meta = {"sample_rate": v.sample_rate, "phonemes": [list(p) for p in v.phonemes],
                "alphabet": v.alphabet, "method": v.method, "warning": v.warning}
        buf = io.BytesIO()
        np.savez(buf, pcm=v.pcm.astype(np.float32), meta=np.array(json.dumps(meta)))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, buf.getvalue())  # temp name + rename: never half a file

    def voice_line(self, line: Line, voice: Voice) -> Voiced:
        """``line``'s speech in ``voice`` (or its recording's, aligned), from the cache when
        it is there. A recording that cannot be read is one line naming the episode's line."""
        key = speech_key(voice, line.text, line.audio_sha256)
        found = self._load(key)
        if found is not None:
            if found.warning:
                self.log(f"warning: {found.warning}")
            return found
        made = self._recorded(line, voice, key) if line.audio is not None else \
            self._synthesized(line, voice, key)
        if made.warning:
            self.log(f"warning: {made.warning}")
        self._save(made)
        self.made.append(line.label)
        return made

    @staticmethod
    def _synthesized(line: Line, voice: Voice, key: str) -> Voiced:
        from reskin.scenes.speech.synth import synthesize

        try:
            speech = synthesize(line.text, voice)
        except ReskinError as exc:
            file, path = _split(line.where)
            raise ReskinError(f"{exc.message} (voice {voice.espeak_name})", file=file,
                              field=path) from None
        return Voiced(key=key, pcm=speech.pcm, sample_rate=speech.sample_rate,
                      phonemes=tuple(speech.phonemes), alphabet="espeak", method="synth")

    @staticmethod
    def _recorded(line: Line, voice: Voice, key: str) -> Voiced:
        from reskin.scenes.speech.align import align
        from reskin.scenes.speech.audio import read_wav

        file, path = _split(line.where)
        try:
            pcm, sr = read_wav(line.audio)
        except ReskinError as exc:
            raise ReskinError(f"{exc.message}: {line.audio}", file=file,
                              field=f"{path}.audio" if path else "audio") from None
        result = align(pcm, sr, line.text, voice, where=line.label)
        return Voiced(key=key, pcm=pcm, sample_rate=sr, phonemes=tuple(result.phonemes),
                      alphabet=result.alphabet, method=result.method, warning=result.warning)

    def voice_episode(self, episode: Episode, voices: Mapping[str, Voice]) -> Episode:
        """``episode`` with every line's speech (``Line.voiced``) and every shot timed."""
        shots = []
        for shot in episode.shots:
            lines = tuple(dataclasses.replace(ln, voiced=self.voice_line(
                ln, voices.get(ln.speaker) or Voice())) for ln in shot.lines)
            shots.append(dataclasses.replace(shot, lines=lines))
        return time_episode(dataclasses.replace(episode, shots=tuple(shots)))


def speech_stems(episode: Episode) -> dict[str, list[tuple[float, np.ndarray, int]]]:
    """Shot id -> its line clips ``(start s in the shot, (n,) PCM, sample rate)`` for
    :func:`reskin.pipeline.publish.publish_episode` (``episode`` timed and voiced)."""
    return {shot.id: [(ln.start, ln.voiced.pcm, ln.voiced.sample_rate) for ln in shot.lines
                      if ln.voiced is not None] for shot in episode.shots}
