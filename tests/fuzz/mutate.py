"""Seeded mutators for every input format reskin reads: bytes, JSON trees, text lines, YAML.

Each mutator is a pure function of (input, ``random.Random``): the same seed gives the same
mutant, so a failing case is replayed from its seed alone. What they do is what an attacker or
a careless collaborator does to a file: truncate it, flip bytes, remove a field, give it the
wrong type, an out-of-range, huge, negative or empty value, or a path that escapes the folder.
"""

from __future__ import annotations

import copy
import json
import random
import re
import struct

# Values a field is set to: wrong types, out of range, huge, negative, empty, path-like.
NASTY = [None, True, False, 0, -1, 1, 2, 3, 7, 255, 65535, 2**31, 2**32 + 1, -2**31, 10**12,
         1e308, -1e308, 0.5, -0.5, 1e-300, "", "x", "NaN", "-1", " ", "../../etc/passwd",
         "/etc/passwd", "..", "a/../../b", "asset:nothing@1", "asset:x", "procedural:nope",
         "\x00", "é" * 3, [], {}, [0], [1, 2, 3], [-1], [1e308, 1e308], {"a": 1}]
NASTY_NUMBERS = ["nan", "inf", "-inf", "1e308", "-1e308", "0", "-0", "1e-320", "99999999999",
                 "-99999999999", "3.4e39", "x", ""]


def pick_nasty(rng: random.Random) -> object:
    return copy.deepcopy(rng.choice(NASTY))


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """``data`` truncated, with bytes flipped, deleted, duplicated or zeroed."""
    b = bytearray(data)
    op = rng.choice(["truncate", "flip", "flip", "zero", "delete", "dup", "truncate_small"])
    if not b:
        return bytes([rng.randrange(256)])
    if op == "truncate":
        return bytes(b[: rng.randrange(len(b))])
    if op == "truncate_small":
        return bytes(b[: max(0, len(b) - rng.randrange(1, 64))])
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    i = rng.randrange(len(b))
    n = rng.randint(1, 64)
    if op == "zero":
        b[i: i + n] = bytes(len(b[i: i + n]))
    elif op == "delete":
        del b[i: i + n]
    else:
        b[i:i] = b[i: i + n]
    return bytes(b)


def _paths(tree: object, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indices) into a JSON-like tree, root excluded."""
    out = []
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = enumerate(tree)
    else:
        return out
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def _parent(tree: object, path: tuple) -> object:
    for k in path[:-1]:
        tree = tree[k]
    return tree


def mutate_tree(tree: object, rng: random.Random, *, skip: tuple[str, ...] = ()) -> object:
    """A deep copy of a JSON-like ``tree`` with 1-3 fields removed, retyped or set out of range.

    skip : top-level keys never chosen (e.g. a glTF's ``buffers``, which would only make
    mutants that fail at the first byte).
    """
    tree = copy.deepcopy(tree)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(tree) if p[0] not in skip]
        if not paths:
            return tree
        path = rng.choice(paths)
        parent = _parent(tree, path)
        key = path[-1]
        value = parent[key]
        op = rng.choice(["remove", "nasty", "nasty", "scale", "negate", "swap", "dup"])
        if op == "remove":
            del parent[key]
        elif op == "scale" and isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[key] = type(value)(value * rng.choice([2, 10, 1000, 0])) \
                if isinstance(value, int) else value * rng.choice([1.5, 1e6, -1, 0.001])
        elif op == "negate" and isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[key] = -value - (1 if isinstance(value, int) else 0)
        elif op == "swap" and isinstance(parent, list) and len(parent) > 1:
            j = rng.randrange(len(parent))
            parent[key], parent[j] = parent[j], parent[key]
        elif op == "dup" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        else:
            parent[key] = pick_nasty(rng)
    return tree


def split_glb(data: bytes) -> tuple[dict, bytes]:
    """(JSON, BIN chunk) of a well-formed GLB (the sample files are)."""
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20: 20 + json_len])
    rest = data[20 + json_len:]
    binary = rest[8: 8 + struct.unpack_from("<I", rest, 0)[0]] if len(rest) >= 8 else b""
    return doc, binary


def pack_glb(doc: dict, binary: bytes) -> bytes:
    """GLB bytes of ``doc`` and ``binary`` (no byteLength fixing: the mutant says what it says)."""
    js = json.dumps(doc, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    binary = binary + b"\x00" * (-len(binary) % 4)
    chunks = struct.pack("<I4s", len(js), b"JSON") + js
    if binary:
        chunks += struct.pack("<I4s", len(binary), b"BIN\x00") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def mutate_glb(data: bytes, rng: random.Random) -> bytes:
    """A GLB mutant: mostly its JSON changed (what gets past the container), else its bytes,
    else its binary chunk's bytes (the JSON intact, the data it points at wrong)."""
    roll = rng.random()
    if roll < 0.2:
        return mutate_bytes(data, rng)
    doc, binary = split_glb(data)
    if roll < 0.35 and binary:
        b = bytearray(binary)
        for _ in range(rng.randint(1, 32)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return pack_glb(doc, bytes(b))
    return pack_glb(mutate_tree(doc, rng), binary)


def mutate_gltf_text(data: bytes, rng: random.Random) -> bytes:
    """A .gltf (JSON) mutant: a field changed, or the text truncated or bit-flipped."""
    if rng.random() < 0.25:
        return mutate_bytes(data, rng)
    return json.dumps(mutate_tree(json.loads(data), rng)).encode()


_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mutate_lines(data: bytes, rng: random.Random) -> bytes:
    """A text format's mutant (OBJ, PLY header, BVH, Fountain): lines deleted, duplicated or
    swapped, numbers replaced by NaN, huge, negative or garbage values, or the bytes mutated."""
    if rng.random() < 0.2:
        return mutate_bytes(data, rng)
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.choice(["delete", "dup", "swap", "number", "number", "number", "blank"])
        if op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "blank":
            lines[i] = b""
        else:
            nums = list(_NUMBER.finditer(lines[i]))
            if nums:
                m = rng.choice(nums)
                new = rng.choice(NASTY_NUMBERS).encode()
                lines[i] = lines[i][: m.start()] + new + lines[i][m.end():]
    return b"\n".join(lines)


def mutate_wav(data: bytes, rng: random.Random) -> bytes:
    """A WAV mutant: header fields (sizes, channels, rate, bits) set to odd values, or bytes."""
    if rng.random() < 0.4 or len(data) < 44:
        return mutate_bytes(data, rng)
    b = bytearray(data)
    field = rng.choice([(4, "<I"), (16, "<I"), (20, "<H"), (22, "<H"), (24, "<I"), (28, "<I"),
                        (32, "<H"), (34, "<H"), (40, "<I")])
    off, fmt = field
    limit = 2**32 - 1 if fmt == "<I" else 2**16 - 1
    struct.pack_into(fmt, b, off, rng.choice([0, 1, 3, 7, 24, 255, limit, limit // 2]))
    return bytes(b)
