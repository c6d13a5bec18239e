"""Series YAML mutants of the sample series: the dry run and the build (stopped before it
renders) must agree on each, both accepting or both refusing with the same line.

One series folder is reused: each mutant writes one mutated YAML file, runs both, and puts the
file back. The library in it is a cache (characters generated and rigged once, skins made per
wardrobe), so mutants after the first cost little.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from tests.fuzz.harness import Outcome, run_one
from tests.fuzz.mutate import mutate_bytes, mutate_tree


class StopBeforeRender(Exception):
    """Raised by :class:`NoRender` where the build would start rendering."""


class NoRender:
    """An executor that stops the build at its first render job (everything before ran)."""

    def run(self, jobs, progress=None) -> None:  # noqa: ANN001 - the Executor protocol
        raise StopBeforeRender


def yaml_files(root: Path) -> list[Path]:
    """The series' YAML files, sorted (a seed picks the same file everywhere)."""
    return sorted(p for p in root.rglob("*.yaml") if ".reskin" not in p.parts
                  and "out" not in p.relative_to(root).parts)


def mutant_text(text: str, rng: random.Random) -> str:
    """A YAML file's mutant: its tree mutated (mostly), or its bytes."""
    if rng.random() < 0.15:
        return mutate_bytes(text.encode(), rng).decode("utf-8", "replace")
    tree = yaml.safe_load(text)
    return yaml.safe_dump(mutate_tree(tree, rng), allow_unicode=True, sort_keys=False)


def dry_outcome(root: Path, seed: int) -> Outcome:
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.dry_run import dry_run

    def go() -> object:
        with BuildContext.open(root) as ctx:
            return dry_run(ctx)

    return run_one(seed, go, 60)


def build_outcome(root: Path, seed: int) -> Outcome:
    """The build up to its first render: ``accepted`` when it got there (or needed none)."""
    from reskin.pipeline.build import Builder
    from reskin.pipeline.context import BuildContext

    def go() -> object:
        with BuildContext.open(root) as ctx, Builder(ctx, executor=NoRender()) as b:
            try:
                b.run()
            except StopBeforeRender:
                pass
        return True

    return run_one(seed, go, 120)


def run_mutant(root: Path, seed: int, files: list[Path]) -> tuple[Outcome, Outcome, str]:
    """(dry run outcome, build outcome, which file) for mutant ``seed``; the file restored."""
    rng = random.Random(seed)
    path = files[rng.randrange(len(files))]
    original = path.read_text()
    path.write_text(mutant_text(original, rng))
    try:
        return dry_outcome(root, seed), build_outcome(root, seed), str(path.relative_to(root))
    finally:
        path.write_text(original)


def agree(dry: Outcome, build: Outcome) -> bool:
    """Both accepted, or both refused with the same line (neither bad)."""
    if "bad" in (dry.kind, build.kind):
        return False
    return dry.kind == build.kind and (dry.kind == "accepted" or dry.message == build.message)
