"""The normalized part of a report: the same bytes from run to run and host to host.

Pids become roles, times and memory sizes are left out, and rows are put in
a stable order.  A lab's output is rewritten only where lab.yaml says it
prints pids (``pid_patterns``): every pattern is applied to every line, and
each group of a match that holds the pid of a process of the run is shown as
``{pid:ROLE}``.  Nothing else in the
output is touched, so a number that happens to equal a pid (``状态是 9``), or
text that merely looks like a role, stays as the lab printed it; a literal
``{pid:`` in the output is shown doubled (``{{pid:``) so it cannot pass for one.

Characters that act instead of showing (terminal escapes, bidi overrides,
invisible characters) are written out by ``visible``, in every report and in
the terminal; the raw logs keep them byte for byte.
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


def fd_names(run: dict) -> dict[str, str]:
    """What the reports call the targets of open descriptors, the same in every run.

    A pipe's inode number changes from run to run; the pipe is named after the
    first process seen holding it (snapshots in order, then pids, then
    descriptor numbers): ``pipe:[main:3]`` is the pipe that was main's
    descriptor 3 in the first snapshot that shows it (``pipe:[main:3@later]``
    when another pipe had that name first: the checkpoint where it was first
    seen follows).  A socket is ``socket``.  Paths (``/tmp/lab/data.txt``,
    ``/dev/null``) and the rest stay as /proc shows them.
    """
    roles = pid_names(run)
    names: dict[str, str] = {}
    taken: set[str] = set()
    for snapshot in run.get("snapshots", []):
        for row in sorted(snapshot["processes"], key=lambda r: r["pid"]):
            for fd in sorted(row.get("fds") or [], key=lambda f: f["fd"]):
                target = fd["target"]
                if target in names:
                    continue
                if target.startswith("pipe:["):
                    holder = f"{row.get('role') or roles.get(row['pid'], row['pid'])}:{fd['fd']}"
                    name, count = f"pipe:[{holder}]", 1
                    while name in taken:
                        count += 1
                        name = f"pipe:[{holder}@{snapshot['checkpoint']}{'' if count == 2 else f'#{count - 1}'}]"
                    names[target] = name
                    taken.add(name)
                elif target.startswith("socket:["):
                    names[target] = "socket"
    return names


def fd_text(fd: dict, names: dict[str, str]) -> str:
    """One open descriptor as the reports show it: ``3 pipe:[main:3] (r)``."""
    mode = f" ({fd['mode']})" if fd.get("mode") else ""
    return f"{fd['fd']} {names.get(fd['target'], fd['target'])}{mode}"


_TRACEBACK = "Traceback (most recent call last):"
_CHAINED = ("During handling of the above exception, another exception occurred:",
            "The above exception was the direct cause of the following exception:")


def main_traceback(run: dict) -> str:
    """The Python traceback main ended with, when it exited with a code other than 0; else "".

    stderr is shared by every process of the lab, so this is the last
    traceback there (main ends last but for what it leaves running), with the
    tracebacks chained to it ("During handling of the above exception ...").
    It ends at its exception's line: what follows may be another process's.
    """
    status = run.get("exit") or {}
    if not status.get("code"):
        return ""
    lines = run.get("stderr", "").split("\n")
    starts = [at for at, line in enumerate(lines) if line == _TRACEBACK]
    if not starts:
        return ""
    start = starts[-1]
    while True:
        earlier = [at for at in starts if at < start]
        if not earlier or start < 3 or lines[start - 1] or lines[start - 3] or lines[start - 2] not in _CHAINED:
            break
        start = earlier[-1]  # a chained exception: the traceback before the "During handling ..." line
    end = next((at for at in range(starts[-1] + 1, len(lines)) if lines[at][:1] not in (" ", "")), len(lines) - 1)
    return "\n".join(lines[start:end + 1]).rstrip("\n") + "\n"


def output(text: str, patterns: Iterable[str], names: dict[int, str]) -> str:
    """The lab's output for the normalized report: declared pids as roles, controls made visible."""
    text = visible(text)
    compiled = [re.compile(p) for p in patterns]
    lines = []
    for line in text.split("\n"):
        # Every pattern, every match on the line: a line may print pids that
        # two patterns describe.  Of two spans that overlap, the one that starts first wins.
        spans = [match.span(i) for pattern in compiled for match in pattern.finditer(line)
                 for i in range(1, pattern.groups + 1) if match.group(i) is not None]
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


def _escape(code: int) -> str:
    """A code point as Python writes it in a string literal: \\x1b, \\u202e, \\U000e0041."""
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _char_class(ranges: list[tuple[int, int]]) -> str:
    """A regular expression class of code point ranges, written as escapes (never raw characters)."""
    return "[" + "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in ranges) + "]"


def _without(ranges: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The code points of ``ranges`` that are not in ``holes``, as ranges."""
    out = []
    for low, high in ranges:
        for hole_low, hole_high in sorted(holes):
            if hole_low > high or hole_high < low:
                continue
            if hole_low > low:
                out.append((low, hole_low - 1))
            low = hole_high + 1
        if low <= high:
            out.append((low, high))
    return out


# What ``visible`` writes out: characters that act instead of showing (terminal
# controls, bidi overrides that reorder the text around them, line separators)
# or that show nothing and so can disguise text.  The list is fixed here, not
# read from the running Python's Unicode tables, so that every host writes the
# same bytes.
_HIDDEN_RANGES = [
    (0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F),  # C0 controls (newline and tab stay), DEL, C1 controls
    (0xAD, 0xAD),                               # soft hyphen
    (0x034F, 0x034F),                           # combining grapheme joiner
    (0x061C, 0x061C),                           # Arabic letter mark (bidi)
    (0x115F, 0x1160), (0x3164, 0x3164), (0xFFA0, 0xFFA0),  # Hangul fillers, which show as blanks
    (0x17B4, 0x17B5),                           # Khmer inherent vowels, which show nothing
    (0x180B, 0x180F),                           # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),                           # zero-width space, non-joiner and joiner; LRM, RLM
    (0x2028, 0x202E),                           # line and paragraph separators; bidi embeddings and overrides
    (0x2060, 0x206F),                           # word joiner, invisible operators, bidi isolates
    (0xD800, 0xDFFF),                           # lone surrogates, which UTF-8 cannot encode
    (0xFE00, 0xFE0F),                           # variation selectors
    (0xFEFF, 0xFEFF),                           # zero-width no-break space (byte order mark)
    (0xFFF0, 0xFFFB),                           # interlinear annotation, and the unassigned code points before it
    (0x1BCA0, 0x1BCA3),                         # shorthand format controls
    (0x1D173, 0x1D17A),                         # musical format controls
    (0xE0000, 0xE0FFF),                         # tags, variation selectors 17 to 256
]
# Emoji are the one place some of these characters belong, and there they stay:
# a joiner between two emoji (👩‍💻, ❤️‍🔥, 🐈‍⬛), a variation selector right after
# the character it selects a form of (❤️, or a variant of a Chinese character),
# and the tags of a subdivision flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿).  Anywhere else, say a run of
# selectors or a joiner between letters, they are written out.
_EMOJI = re.compile(_char_class([(0xA9, 0xA9), (0xAE, 0xAE), (0x203C, 0x203C), (0x2049, 0x2049),
                                 (0x2122, 0x2122), (0x2139, 0x2139), (0x2194, 0x2BFF), (0x3030, 0x3030),
                                 (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1FAFF)]))
_VARIATION = re.compile(_char_class([(0xFE00, 0xFE0F), (0xE0100, 0xE01EF)]))
_HIDDEN = re.compile(_char_class(_HIDDEN_RANGES))
# The characters whose fate depends on their neighbours, and the rest, which are
# always written out.
_JOINER, _FLAG, _TAGS, _CANCEL_TAG = "\u200d", "\U0001f3f4", range(0xE0020, 0xE007F), "\U000e007f"
_IN_EMOJI = [(0x200D, 0x200D), (0xFE00, 0xFE0F), (0xE0020, 0xE007F), (0xE0100, 0xE01EF)]
_MAYBE = re.compile(_char_class(_IN_EMOJI))
_ALWAYS = re.compile(_char_class(_without(_HIDDEN_RANGES, _IN_EMOJI)))
_ASCII_CONTROLS = re.compile(_char_class([(0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x7F)]))
# A selector after a space selects nothing: it is only hiding there.
_SPACES = " \t\n\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


_ESCAPES = {chr(code): _escape(code) for low, high in _without(_HIDDEN_RANGES, _IN_EMOJI)
            for code in range(low, high + 1)}


def _escaped(match: re.Match) -> str:
    return _ESCAPES[match.group()]


def _belongs_to_an_emoji(text: str, at: int) -> bool:
    char = text[at]
    before = text[at - 1] if at else ""
    if char == _JOINER:
        after = text[at + 1:at + 2]
        if before == "\ufe0f" and at > 1:
            before = text[at - 2]  # ❤️‍🔥: the joiner follows the heart's selector
        return bool(before and after and _EMOJI.match(before) and _EMOJI.match(after))
    if _VARIATION.match(char):
        return bool(before) and not _HIDDEN.match(before) and before not in _SPACES
    start = at
    while start and ord(text[start - 1]) in _TAGS:
        start -= 1
    end = at if char == _CANCEL_TAG else at + 1
    while end < len(text) and ord(text[end]) in _TAGS:
        end += 1
    return (start > 0 and text[start - 1] == _FLAG and end < len(text) and text[end] == _CANCEL_TAG
            and 1 <= end - start <= 8)


def _in_context(match: re.Match) -> str:
    char = match.group()
    return char if _belongs_to_an_emoji(match.string, match.start()) else _escape(ord(char))


def visible(text: str) -> str:
    r"""Control characters, bidi overrides and invisible characters written out, never executed.

    ESC becomes the four characters ``\x1b``, U+202E (right-to-left override)
    the six characters ``\u202e``, as Python writes them.  Newlines and tabs
    stay, and so do Chinese text and emoji.  The escapes are plain ASCII, so
    ``visible(visible(text)) == visible(text)``: the report's templates can make
    everything they print visible without undoing what a filter already did.
    """
    if text.isascii():
        # Only C0 controls and DEL can be there: one quick pass over megabytes of output.
        return _ASCII_CONTROLS.sub(_escaped, text)
    # Joiners and selectors first, judged by their neighbours as the lab printed them.
    text = _MAYBE.sub(_in_context, text)
    return _ALWAYS.sub(_escaped, text)


def one_line(text: str) -> str:
    """``visible``, with newlines and tabs written out too: for a command, a name or a role,
    shown on one line of a tree or a table, where a newline in argv could forge the next row."""
    return visible(text).replace("\n", "\\n").replace("\t", "\\t")
