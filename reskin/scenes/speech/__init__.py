"""Speech for performances: voices, synthesis with phoneme timings, forced alignment, lip sync.

Part of the scenes layer: it may import core, assets, rigging, skins and scenes, never render,
pipeline or cli. Modules: :mod:`.voice` (the ``voice:`` mapping), :mod:`.engine` (espeak-ng
through ctypes), :mod:`.synth` (text to PCM plus phoneme times), :mod:`.audio` (reading and
writing WAVs), :mod:`.visemes` (phonemes to per-frame viseme weights), :mod:`.align` (a line's
text aligned to a recording). Heavy libraries (librosa, pocketsphinx) are imported lazily so
that ``reskin --help`` stays fast.
"""
