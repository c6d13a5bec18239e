"""A screenplay's [[notes]] as reskin's directions: shot ids, cameras, clips, recordings and
lengths Fountain cannot say; other notes are comments; a misspelt direction is one line."""

from __future__ import annotations

import pytest

from reskin.core.errors import ReskinError
from reskin.scenes.fountain import Dialogue, Note, parse_fountain
from reskin.scenes.script_import import Staging, stage_screenplay
from reskin.scenes.script_notes import read_notes

STAGING = Staging(cast={"mira": 1.68, "theo": 1.8})
SCRIPT = """\
INT. KITCHEN - NIGHT

[[camera: orbit, amount: 12]]
[[clip: theo nod]]

MIRA
You got the letter too? [[a note for the reader]]

THEO
[[shot: s02-mine]]
[[duration: 3.5]]
[[camera: closeup, on: theo, lens: 70]]
This morning.
"""


def stage(text: str) -> str:
    ((_, yaml),) = stage_screenplay(parse_fountain(text), STAGING, file="x.fountain",
                                    first_id="ep01")
    return yaml


def test_notes_in_a_dialogue_block_belong_to_its_line_and_do_not_end_it():
    (ep,) = parse_fountain(SCRIPT).episodes
    beats = ep.scenes[0].beats
    assert [type(b).__name__ for b in beats] == ["Note", "Note", "Dialogue", "Dialogue"]
    mira, theo = (b for b in beats if isinstance(b, Dialogue))
    assert mira.text == "You got the letter too?" and mira.notes == (
        Note("a note for the reader", 7),)
    assert theo.text == "This morning." and [n.line for n in theo.notes] == [10, 11, 12]


def test_directions_name_frame_and_time_the_shot_that_holds_the_line():
    yaml = stage(SCRIPT)
    assert "  - id: s02-mine\n    duration: 3.5\n" in yaml  # as typed, not 3.50 or a rule's
    assert "    camera: {framing: closeup, on: theo, lens: 70}\n" in yaml
    # without a framing the items adjust the rule's camera: the same framing, now orbiting
    assert "move: orbit, amount: 12}" in yaml and "framing: closeup, on: mira" in yaml
    assert "{character: theo, clip: nod, position: [0.55, 0], facing: -25}" in yaml
    assert "      # a note for the reader\n      - {speaker: mira" in yaml


@pytest.mark.parametrize("note, expected", [
    ("camrea: orbit", r"x.fountain:3: note: \[\[camrea: orbit\]\]: unknown direction "
                      r"'camrea'; did you mean 'camera'\?"),
    ("camera: zoom", r"x.fountain:3: camera: .*'zoom' is neither a framing"),
    ("camera: medium, tilt: 4", r"x.fountain:3: camera: .*unknown camera item 'tilt'"),
    ("duration: long", r"x.fountain:3: duration: .*'long' is not a number"),
    ("clip: zed wave", r"x.fountain:3: clip: .*'zed' is not in the cast \(mira, theo\)"),
    ("shot: a b", r"x.fountain:3: shot: .*letters, digits"),
])
def test_a_bad_direction_is_one_line_naming_the_screenplay_line(note, expected):
    with pytest.raises(ReskinError, match=expected) as info:
        stage(f"INT. A - DAY\n\n[[{note}]]\n\nMIRA\nHi.\n")
    assert "\n" not in str(info.value)


def test_other_notes_are_comments():
    said = read_notes([Note("TODO: a better line", 4), Note("no at: for this one", 5)],
                      "x.fountain", {"mira"})
    assert said.comments == ["TODO: a better line", "no at: for this one"] and not said.cuts
