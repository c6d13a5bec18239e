"""Running one mutant: in-process, under a time limit, its outcome classified.

Every mutant ends one of three ways: ``refused`` (a one-line :class:`ReskinError`),
``accepted`` (the call returned) or ``bad`` (any other exception, a multi-line message, or
running past the time limit). A ``bad`` outcome keeps its seed and traceback so it can be
replayed: ``mutant(seed)`` regenerates it.
"""

from __future__ import annotations

import signal
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from reskin.core.errors import ReskinError


class Hang(BaseException):
    """Raised in the main thread when a mutant runs past its time limit (not an Exception, so
    no ``except Exception`` in the code under test swallows it)."""


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`Hang` if the block runs longer than ``seconds`` (SIGALRM: main thread)."""
    def on_alarm(signum, frame):
        raise Hang(f"ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Outcome:
    seed: int
    kind: str  # "refused", "accepted" or "bad"
    message: str = ""
    value: object = None


def run_one(seed: int, fn: Callable[[], object], seconds: float = 10.0) -> Outcome:
    """Run ``fn`` (one mutant's work) and classify what happened."""
    try:
        with time_limit(seconds):
            value = fn()
    except ReskinError as exc:
        line = exc.one_line()
        if "\n" in line or not line.strip():
            return Outcome(seed, "bad", f"refusal is not one line: {line!r}")
        return Outcome(seed, "refused", line)
    except Hang as exc:
        return Outcome(seed, "bad", f"hang: {exc}")
    except Exception:  # noqa: BLE001 - anything else is exactly what the fuzzer looks for
        return Outcome(seed, "bad", traceback.format_exc())
    return Outcome(seed, "accepted", value=value)


@dataclass
class Tally:
    """Counts of outcomes, and the bad ones in full."""

    counts: Counter = field(default_factory=Counter)
    bad: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.kind] += 1
        if outcome.kind == "bad":
            self.bad.append(outcome)

    def failure_text(self, what: str) -> str:
        """The bad outcomes, each with its seed (replay: regenerate the mutant from it)."""
        parts = [f"{what}: {len(self.bad)} bad of {sum(self.counts.values())} "
                 f"({dict(self.counts)})"]
        for o in self.bad[:5]:
            parts.append(f"--- seed {o.seed}:\n{o.message[-1500:]}")
        return "\n".join(parts)
