"""The normalized part of a report: the same bytes from run to run and host to host.

Pids become roles, times and memory sizes are left out, and rows are put in
a stable order.  A lab's output is rewritten only where lab.yaml says it
prints pids (``pid_patterns``): each group of such a pattern that holds the
pid of a process of the run is shown as ``{pid:ROLE}``.  Nothing else in the
output is touched, so a number that happens to equal a pid (``状态是 9``), or
text that merely looks like a role, stays as the lab printed it; a literal
``{pid:`` in the output is shown doubled (``{{pid:``) so it cannot pass for one.
"""

from __future__ import annotations

import re
from typing import Iterable

PLACEHOLDER = "{pid:"


def pid_names(run: dict) -> dict[int, str]:
    """pid -> the name a reader knows it by (the lab's name before the aliases)."""
    names: dict[int, str] = {}
    for role, pid in run["roles"].items():
        names.setdefault(pid, role)
    return names


def output(text: str, patterns: Iterable[str], names: dict[int, str]) -> str:
    """The lab's output for the normalized report: declared pids as roles, controls made visible."""
    text = visible(text)
    compiled = [re.compile(p) for p in patterns]
    lines = []
    for line in text.split("\n"):
        spans = []
        for pattern in compiled:
            match = pattern.search(line)
            if match:
                spans = [match.span(i) for i in range(1, (match.lastindex or 0) + 1)
                         if match.group(i) is not None]
                break
        out, at = [], 0
        for start, end in sorted(spans):
            if start < at:
                continue
            out.append(line[at:start].replace(PLACEHOLDER, "{" + PLACEHOLDER))
            token = line[start:end]
            if token.isdigit() and int(token) in names:
                out.append(f"{PLACEHOLDER}{names[int(token)]}}}")
            else:
                out.append(token.replace(PLACEHOLDER, "{" + PLACEHOLDER))
            at = end
        out.append(line[at:].replace(PLACEHOLDER, "{" + PLACEHOLDER))
        lines.append("".join(out))
    return "\n".join(lines)


_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f]}


def visible(text: str) -> str:
    """Control characters (ANSI escapes, NUL, carriage returns...) written out, never executed.

    Newlines and tabs stay; ESC becomes the four characters \\x1b.
    """
    return text.translate(_CONTROL)
