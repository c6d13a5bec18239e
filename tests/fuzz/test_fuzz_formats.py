"""OBJ/PLY/STL, BVH and WAV hostile input: seeded mutants, each refused in one line or accepted
with outputs that hold up (static meshes export with 0 validator errors; motion and audio are
finite). No traceback, crash or hang (a per-mutant time limit).

Replay a failing seed with the same ``random.Random(seed)`` and mutator named in the test.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np

from reskin.assets.gltf.validate import errors_of, validate_many
from tests.fuzz.harness import Tally, run_one
from tests.fuzz.mutate import mutate_bytes, mutate_lines, mutate_wav


def _mesh_samples(shared_data: Path, tmp_path: Path) -> list[Path]:
    """Small meshes of each format: the pathological set, and a small ASCII and binary PLY."""
    import trimesh

    folder = shared_data / "meshes" / "pathological"
    files = [folder / n for n in ("soup.stl", "large_block_obb_far_from_origin.STL",
                                  "joined_tetrahedra_dupface.obj", "nancolor.obj",
                                  "notenoughindices.obj")]
    box = trimesh.creation.box((0.4, 1.0, 0.3))
    for name, enc in (("box_ascii.ply", "ascii"), ("box_bin.ply", "binary")):
        (tmp_path / name).write_bytes(box.export(file_type="ply", encoding=enc))
        files.append(tmp_path / name)
    (tmp_path / "box.obj").write_bytes(box.export(file_type="obj").encode())
    return files + [tmp_path / "box.obj"]


def test_mesh_mutants(shared_data, tmp_path):
    from reskin.assets.importer import prepare

    files = _mesh_samples(shared_data, tmp_path)
    work = tmp_path / "m"
    work.mkdir()
    tally, accepted = Tally(), []
    for seed in range(200):
        rng = random.Random(seed)
        src = files[rng.randrange(len(files))]
        data = src.read_bytes()
        text = src.suffix.lower() == ".obj" or data[:5] == b"solid" or b"ascii" in data[:40]
        out = mutate_lines(data, rng) if text else mutate_bytes(data, rng)
        path = work / f"m{seed}{src.suffix}"
        path.write_bytes(out)
        o = run_one(seed, lambda p=path: prepare(p).blobs["model.glb"])
        tally.add(o)
        if o.kind == "accepted" and seed % 4 == 0:  # validate a quarter (one node run)
            accepted.append((seed, o.value))
    assert not tally.bad, tally.failure_text("mesh mutants")
    assert tally.counts["accepted"] > 20 and tally.counts["refused"] > 20, tally.counts
    reports = validate_many([g for _, g in accepted])
    assert [s for (s, _), r in zip(accepted, reports, strict=True) if errors_of(r)] == []


def _small_bvh(shared_data: Path) -> bytes:
    """The CMU walk cut to 40 frames (a valid BVH, quick to parse)."""
    text = (shared_data / "bvh" / "cmu_12_03_walk.bvh").read_text()
    head, _, motion = text.partition("MOTION")
    lines = motion.strip().splitlines()
    frames = [ln for ln in lines[2:] if ln.strip()][:40]
    return (head + "MOTION\nFrames: 40\n" + lines[1] + "\n" + "\n".join(frames) + "\n").encode()


def test_bvh_mutants(shared_data, tmp_path):
    from reskin.rigging.bvh import read_bvh

    data = _small_bvh(shared_data)
    tally = Tally()
    for seed in range(200):
        path = tmp_path / f"m{seed}.bvh"
        path.write_bytes(mutate_lines(data, random.Random(seed)))

        def parse(p=path):
            m = read_bvh(p)
            assert np.isfinite(m.rotations).all() and np.isfinite(m.translations).all()
            assert m.fps > 0 and len(m.names) == len(m.parents)
            return m

        tally.add(run_one(seed, parse))
    assert not tally.bad, tally.failure_text("BVH mutants")
    assert tally.counts["accepted"] > 10 and tally.counts["refused"] > 10, tally.counts


def _wav() -> bytes:
    import soundfile

    t = np.arange(4800) / 48000
    buf = io.BytesIO()
    soundfile.write(buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000,
                    format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_wav_mutants(tmp_path):
    from reskin.render.audio import read_audio
    from reskin.scenes.speech.audio import read_wav

    data = _wav()
    tally = Tally()
    for seed in range(300):
        path = tmp_path / f"m{seed}.wav"
        path.write_bytes(mutate_wav(data, random.Random(seed)))

        def read(p=path):
            mono = read_audio(p, field="music", where="series.yaml:3")
            assert mono.ndim == 1 and np.isfinite(mono).all()
            pcm, sr = read_wav(p)
            assert sr > 0 and np.isfinite(pcm).all()

        tally.add(run_one(seed, read))
    assert not tally.bad, tally.failure_text("WAV mutants")
    assert tally.counts["refused"] > 10, tally.counts
