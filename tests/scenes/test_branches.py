from __future__ import annotations

import re

import pytest

from reskin.core.errors import ReskinError
from reskin.scenes.branches import graph_json, is_branching
from reskin.scenes.episode import load_episode


def shot(sid: str, extra: str = "") -> str:
    return (f"  - id: {sid}\n    duration: 1\n    cast: [{{character: mira}}]\n{extra}")


CHOICE = ("    choice:\n      prompt: Open the letter?\n      options:\n"
          "        - {label: Open it, goto: s02-open}\n"
          "        - {label: Burn it, goto: s02-burn}\n"
          "      timeout: 3\n      default: 1\n")

BRANCHING = ("title: Letter\nshots:\n" + shot("s01", CHOICE)
             + shot("s02-open", "    goto: s03\n") + shot("s02-burn") + shot("s03"))


def write(tmp_path, text, name="ep01.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_choice_and_rejoin_make_a_graph(tmp_path):
    ep = load_episode(write(tmp_path, BRANCHING), {"mira"})
    assert is_branching(ep)
    choice = ep.shots[0].flow.choice
    assert choice.prompt == "Open the letter?" and choice.timeout == 3 and choice.default == 1
    assert [o.label for o in choice.options] == ["Open it", "Burn it"]
    graph = graph_json(ep)
    assert graph["start"] == "s01" and graph["warnings"] == []
    nxt = {n["id"]: n["next"] for n in graph["nodes"]}
    # both branches rejoin at s03; s02-open skips s02-burn by its goto
    assert nxt == {"s01": ["s02-open", "s02-burn"], "s02-open": ["s03"],
                   "s02-burn": ["s03"], "s03": []}
    assert graph["nodes"][0]["choice"]["options"][1] == {"label": "Burn it", "goto": "s02-burn"}


def test_linear_episode_is_not_branching(tmp_path):
    ep = load_episode(write(tmp_path, "shots:\n" + shot("a") + shot("b")), {"mira"})
    assert not is_branching(ep)
    assert [n["next"] for n in graph_json(ep)["nodes"]] == [["b"], []]


def test_goto_another_episode(tmp_path):
    write(tmp_path, "shots:\n" + shot("s01"), "ep03.yaml")
    text = BRANCHING.replace("goto: s02-burn", "goto: ep03#s01")
    ep = load_episode(write(tmp_path, text), {"mira"})
    assert graph_json(ep)["nodes"][0]["next"] == ["s02-open", "ep03#s01"]
    # s02-burn is now reached by nobody: a warning with its file and line
    (warning,) = graph_json(ep)["warnings"]
    assert re.match(r".*ep01\.yaml:\d+: shot 's02-burn' is never played", warning)


@pytest.mark.parametrize("old, new, expected", [
    ("goto: s02-open}", "goto: s02-opn}",
     r"ep01\.yaml:9: shots\[0\]\.choice\.options\[0\]\.goto: goes to 's02-opn', which is not "
     r"a shot of this episode .*did you mean 's02-open'"),
    ("goto: s02-burn}", "goto: ep09#s01}", r"ep01\.yaml:10: .*no episode 'ep09'"),
    ("    goto: s03\n", "    goto: s01\n", None),  # a loop through the choice: fine
    ("default: 1", "default: 2", r"ep01\.yaml:12: shots\[0\]\.choice\.default: must be an opt"),
    ("        - {label: Burn it, goto: s02-burn}\n", "",
     r"ep01\.yaml:9: shots\[0\]\.choice\.options: a choice needs at least two options"),
])
def test_bad_branches_are_one_line_with_file_and_line(tmp_path, old, new, expected):
    text = BRANCHING.replace(old, new)
    assert text != BRANCHING
    path = write(tmp_path, text)
    if expected is None:
        load_episode(path, {"mira"})
        return
    with pytest.raises(ReskinError, match=expected) as info:
        load_episode(path, {"mira"})
    assert "\n" not in str(info.value)


def test_loop_without_choice_is_an_error(tmp_path):
    text = "shots:\n" + shot("a") + shot("b") + shot("c", "    goto: b\n")
    with pytest.raises(ReskinError, match=r"ep01\.yaml:\d+: shots\[2\]\.goto: these shots "
                       r"loop for ever with no choice to leave: b -> c -> b"):
        load_episode(write(tmp_path, text), {"mira"})
