"""One espeak-ng synthesis in a fresh process (stdlib only: run as ``python -S espeak_worker.py``).

espeak-ng carries hidden state from one utterance to the next (the same text comes out up to
10 ms differently timed after other texts, and neither re-initialising nor reseeding resets
it), so each synthesis runs in a new process: the same text and voice then always give the
same samples. Protocol: ``argv = [lib, data, command, ...]``; ``synth voice rate pitch`` reads
UTF-8 text on stdin and writes one JSON line (sample rate, events) then the int16 PCM;
``voices`` writes one JSON line listing ``[identifier, name, [languages]]``.
"""

import ctypes
import json
import sys

_RETRIEVAL_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p),
                ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


class _VoiceSpec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_void_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte),
                ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte),
                ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


def _open(lib_path, data_path):
    lib = ctypes.CDLL(lib_path)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceSpec))
    lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    rate = lib.espeak_Initialize(_RETRIEVAL_SYNCHRONOUS, 0, data_path.encode(),
                                 _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
    return lib, rate


def _synth(lib, sample_rate, voice, rate, pitch, text):
    pcm, events = [], []

    def on_audio(wav, n, evs):
        if wav and n > 0:
            pcm.append(ctypes.string_at(wav, n * 2))
        i = 0
        while evs[i].type != 0:
            ev = evs[i]
            if ev.type == _EVENT_PHONEME:
                events.append(["phoneme", ev.id.string.decode("utf-8", "replace"), ev.sample])
            elif ev.type == _EVENT_WORD:
                events.append(["word", str(ev.text_position), ev.sample])
            i += 1
        return 0

    callback = _CALLBACK(on_audio)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        return {"error": f"espeak-ng has no voice {voice!r}"}, b""
    lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
    lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
    # Noise and jitter come from espeak's PRNG: a fixed seed for determinism.
    lib.espeak_ng_SetRandSeed(1)
    data = text.encode("utf-8")
    buf = ctypes.create_string_buffer(data)
    lib.espeak_Synth(buf, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
    lib.espeak_Synchronize()
    audio = b"".join(pcm)
    return {"sample_rate": sample_rate, "events": events, "bytes": len(audio)}, audio


def _voices(lib):
    arr = lib.espeak_ListVoices(None)
    out = []
    i = 0
    while arr[i]:
        v = arr[i].contents
        langs = []
        # languages: repeated (priority byte, NUL-terminated name), ended by a 0 byte.
        pos = v.languages or 0
        while pos and ctypes.string_at(pos, 1) != b"\0":
            name = ctypes.string_at(pos + 1)
            langs.append(name.decode("utf-8", "replace"))
            pos += len(name) + 2
        out.append([(v.identifier or b"").decode(), (v.name or b"").decode(), langs])
        i += 1
    return out


def main(argv):
    lib_path, data_path, command = argv[:3]
    lib, sample_rate = _open(lib_path, data_path)
    out = sys.stdout.buffer
    if sample_rate <= 0:
        out.write(json.dumps({"error": f"espeak-ng could not start (data in {data_path})"})
                  .encode() + b"\n")
        return 0
    if command == "voices":
        head = {"voices": _voices(lib), "version": lib.espeak_Info(None).decode()}
        out.write(json.dumps(head).encode() + b"\n")
        return 0
    voice, rate, pitch = argv[3], int(argv[4]), int(argv[5])
    text = sys.stdin.buffer.read().decode("utf-8")
    head, audio = _synth(lib, sample_rate, voice, rate, pitch, text)
    out.write(json.dumps(head).encode() + b"\n")
    out.write(audio)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
