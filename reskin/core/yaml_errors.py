"""PyYAML's syntax errors in plain words, at the line where the user must look.

PyYAML reports where it gave up (often the line after an unclosed bracket) in parser terms
(``expected ',' or '}', but got '<scalar>'``); :func:`describe` turns the common cases into
``unclosed { (opened on line 19)``, ``a tab character cannot indent YAML`` and the like.
"""

from __future__ import annotations

import yaml

_OPENERS = {"flow mapping": "{", "flow sequence": "["}


def _line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _unclosed(text: str) -> tuple[str, int] | None:
    """The innermost bracket or brace left open at the end of ``text`` and its line
    (approximate: skips quoted text and comments)."""
    stack: list[tuple[str, int]] = []
    for number, line in enumerate(text.splitlines(), 1):
        quote = None
        for i, ch in enumerate(line):
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "\"'" and (i == 0 or line[i - 1] in " \t[{,:"):
                quote = ch
            elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
                break
            elif ch in "[{":
                stack.append((ch, number))
            elif ch in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else None


def describe(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """(1-based line or None, plain message) for a PyYAML error raised while reading ``text``."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None) or ""
    pmark = getattr(exc, "problem_mark", None)
    cmark = getattr(exc, "context_mark", None)
    pline = pmark.line + 1 if pmark else None
    cline = cmark.line + 1 if cmark else None
    if "'\\t'" in problem or "\t" in problem:
        return pline, "a tab character cannot indent YAML (indent with spaces)"
    for kind, opener in _OPENERS.items():
        if kind in context and problem.startswith("expected ','") and cline is not None:
            closer = "}" if opener == "{" else "]"
            if pline is not None and pline > cline:
                return cline, f"unclosed {opener} (opened on line {cline})"
            return pline, f"expected ',' or '{closer}' here: separate the items of the " \
                          f"{opener} with ', ' (quote a value that holds ':' or ',')"
    if "quoted scalar" in context and cline is not None:
        quote = text.splitlines()[cline - 1][cmark.column] if cmark else '"'
        if "end of stream" in problem:
            return cline, f"unclosed {quote} (opened on line {cline})"
    if "<stream end>" in problem and (opener := _unclosed(text)) is not None:
        return opener[1], f"unclosed {opener[0]} (opened on line {opener[1]})"
    if problem.startswith("expected <block end>"):
        found = problem.rsplit("found ", 1)[-1].strip("'")
        if found in ("]", "}"):
            return pline, f"a {found} without its opening {'[' if found == ']' else '{'}"
        return pline, (f"bad indentation: this line does not line up with the lines above "
                       f"(the block starts on line {cline})" if cline else "bad indentation")
    if "simple key" in context and "expected ':'" in problem and cline is not None:
        words = _line_text(text, cline)
        if ":" in words:
            return cline, "a space is missing after ':' (write 'key: value')"
        return cline, "this line is not 'key: value' (no ':' on it)"
    if problem == "mapping values are not allowed here":
        before = _line_text(text, pline or 0)[: pmark.column].rstrip() if pmark else ""
        if before.endswith(":"):
            return pline, "a value is missing after ':'"
        if ":" not in before:
            return pline, "bad indentation: this line is indented more than the key above it"
        return pline, "a second ':' on this line: put a value that holds ': ' in quotes"
    return pline, problem
