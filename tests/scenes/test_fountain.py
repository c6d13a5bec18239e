"""The Fountain reader: headings, forced cues, parentheticals, action, episode boundaries."""

from __future__ import annotations

from pathlib import Path

from reskin.scenes.fountain import Action, Dialogue, parse_fountain

SCRIPT = (Path(__file__).parent / "screenplay.fountain").read_text()


def test_the_test_screenplay_reads_as_written():
    play = parse_fountain(SCRIPT)
    assert play.title_page["title"] == "The Letter"
    assert play.title_page["cast"] == "西奥 = theo"
    (ep,) = play.episodes
    assert ep.title == "Episode 5: The Letter"
    kitchen, platform = ep.scenes
    assert (kitchen.interior, kitchen.location, kitchen.time) == (True, "KITCHEN", "NIGHT")
    assert (platform.interior, platform.location, platform.time) == (False, "STATION PLATFORM",
                                                                    "DAY")
    lines = [b for s in ep.scenes for b in s.beats if isinstance(b, Dialogue)]
    assert len(lines) == 12
    assert [ln.cue for ln in lines[:2]] == ["MIRA", "西奥"]  # the forced @ cue
    assert [ln.parenthetical for ln in lines if ln.parenthetical] == ["angry", "whispering",
                                                                       "sad"]
    assert lines[2].text == "And you said nothing?" and lines[2].line == 19
    actions = [b.text for b in kitchen.beats if isinstance(b, Action)]
    assert actions == ["The kettle clicks off. THEO stands by the window.", "MIRA enters.",
                       "She turns to him."]


def test_sections_and_page_breaks_split_episodes_and_markup_is_dropped():
    play = parse_fountain("INT. A - DAY\n\nMIRA\nOne. [[a note]]\n\n===\n\n"
                          "EXT. B - NIGHT\n\n/* cut\n\nTHEO\nGone. */\nTHEO (V.O.)\nTwo.\n\n"
                          "# Episode 9\n\n.THE ROOF\n\nCUT TO:\n\nMIRA\nThree.\n")
    assert len(play.episodes) == 3
    assert play.episodes[2].title == "Episode 9"
    assert play.episodes[2].scenes[0].location == "THE ROOF"
    texts = [[(b.cue, b.extension, b.text, b.line) for s in e.scenes for b in s.beats
              if isinstance(b, Dialogue)] for e in play.episodes]
    assert texts == [[("MIRA", "", "One.", 3)], [("THEO", "V.O.", "Two.", 14)],
                     [("MIRA", "", "Three.", 23)]]
