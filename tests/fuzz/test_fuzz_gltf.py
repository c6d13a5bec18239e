"""glTF/GLB/VRM hostile input: seeded mutants of the sample files, each refused in one line or
accepted with an export that has 0 validator errors (seeds 0..499; bench/fuzz.py runs
any other range).

Replay a failing seed: ``tests.fuzz.gltf_cases.mutant(seed, sample_files())``.
"""

from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner

from reskin.assets.gltf.validate import errors_of, validate_many
from reskin.cli import main
from tests.assets.test_vrm import make_vrm
from tests.fuzz.gltf_cases import import_mutant, sample_files, write_mutant
from tests.fuzz.harness import Tally

SEEDS = range(0, 500)
AVATAR_SEEDS = range(10_000, 10_020)
VRM_SEEDS = range(20_000, 20_040)


def _validate_accepted(accepted: list[tuple[int, bytes]]) -> list[str]:
    bad = []
    for (seed, _), report in zip(accepted, validate_many([g for _, g in accepted]), strict=True):
        errs = errors_of(report)
        if errs:
            bad.append(f"seed {seed}: {len(errs)} validator errors, first: {errs[0]}")
    return bad


def _run(seeds, files, folder: Path, suffix: str | None = None) -> tuple[Tally, list]:
    tally, accepted = Tally(), []
    for seed in seeds:
        out = import_mutant(seed, files, folder, suffix)
        tally.add(out)
        if out.kind == "accepted":
            accepted.append((seed, out.value))
    return tally, accepted


def test_gltf_mutants_are_refused_in_one_line_or_export_valid(shared_data, tmp_path):
    tally, accepted = _run(SEEDS, sample_files(), tmp_path)
    assert not tally.bad, tally.failure_text("glTF mutants")
    assert tally.counts["refused"] > 100 and tally.counts["accepted"] > 10, tally.counts
    assert _validate_accepted(accepted) == []


def test_avatar_mutants(shared_data, tmp_path):
    avatars = sorted((shared_data / "avatars").glob("*.glb"))
    tally, accepted = _run(AVATAR_SEEDS, avatars, tmp_path)
    assert not tally.bad, tally.failure_text("avatar mutants")
    assert _validate_accepted(accepted) == []


def test_vrm_mutants(shared_data, tmp_path):
    vrm = make_vrm(shared_data / "gltf" / "RiggedFigure.glb", tmp_path / "figure.vrm", "1.0")
    tally, accepted = _run(VRM_SEEDS, [vrm], tmp_path / "m", ".vrm")
    assert not tally.bad, tally.failure_text("VRM mutants")
    assert _validate_accepted(accepted) == []


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_cli_refuses_with_exit_2_and_leaves_the_library_alone(shared_data, tmp_path):
    """A sample of mutants through `reskin asset import`: refused ones exit 2 in one line with
    the library byte-for-byte unchanged; accepted ones export (`reskin asset export`) valid."""
    series = tmp_path / "s"
    assert CliRunner().invoke(main, ["init", str(series)]).exit_code == 0
    files = sample_files()
    rng = random.Random(7)
    refused = exported = 0
    for seed in rng.sample(list(SEEDS), 40):
        path = write_mutant(seed, files, tmp_path / "in")
        before = _snapshot(series / ".reskin")
        result = CliRunner().invoke(main, ["asset", "import", str(path), "--name", f"m{seed}",
                                           "-s", str(series)])
        if result.exit_code == 2:
            assert len(result.output.strip().splitlines()) == 1, (seed, result.output)
            assert "Traceback" not in result.output, seed
            assert _snapshot(series / ".reskin") == before, seed
            refused += 1
        else:
            assert result.exit_code == 0, (seed, result.output)
            out = tmp_path / f"m{seed}.glb"
            exp = CliRunner().invoke(main, ["asset", "export", f"m{seed}", "-o", str(out), "-s",
                                            str(series)])
            assert exp.exit_code == 0, exp.output
            report, = validate_many([out.read_bytes()])
            assert errors_of(report) == [], seed
            exported += 1
    assert refused > 10 and exported > 0, (refused, exported)
