"""Pictures of a run: the process tree and each process's life on a timeline.

One model (``lives``) is built from the runner's events and from its looks at
the process table, and drawn four ways: a plain text tree, a Mermaid
flowchart (GitHub and GitLab render it in report.md), an inline SVG tree and
an inline SVG timeline (report.html), besides a Mermaid Gantt chart.
Nothing external is needed: no graphviz, no JavaScript.

What the pictures may say is what the run shows, no more:

* The trees are part of the normalized report, the same bytes in every run,
  so they say only what every run shows alike: who forked whom, who adopted
  whom, the exit statuses the runner collected, which checkpoints saw a
  zombie, and who reaped whom where that is known for certain: the runner's
  own reaps, and a process seen as a zombie of a parent at one checkpoint and
  gone at the next while that parent still lived (only a zombie's parent can
  collect it).  Anything else that left the table was "reaped (by whom not
  seen)".
* The timeline is measured, so it uses every look the runner took: a process
  is alive (running, sleeping or stopped) until the last look that saw it so;
  what happened between that look and the next (an exit, a reap) is drawn as
  a span of its own, hatched, because the kit knows only that it happened in
  there.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from dataclasses import dataclass, field
from html import escape
from typing import Optional

from forklab.normalize import one_line

RUNNER_COMMAND = "python3 -m forklab.runner"
#: What the trees say for a process whose command no snapshot showed and none can be told.
NO_COMMAND = "(command not seen)"

#: The words drawn inside the timeline and written beside it (its legend, its
#: axis, the Gantt chart's names, the notes on the runner's looks), in Chinese,
#: with the terms of labs/GLOSSARY.zh.md.  A drawing is made in one call, where
#: the templates' own words cannot reach, so it carries its words here.
ZH = {
    "alive: running, sleeping or stopped (until the last look that saw it so)":
        "活着:运行、睡眠或暂停(直到最后一次看到它这样)",
    "exited in here (between two looks)": "在这段时间里退出(两次查看之间)",
    "zombie": "僵尸进程",
    "reaped in here (between two looks)": "在这段时间里被回收(两次查看之间)",
    "adopted": "被收养",
    "checkpoint": "检查点",
    "never reaped": "从未被回收",
    "time since the lab started": "从实验开始算起的时间",
    "; spans too short to see are drawn wider than their time, so the scale is uneven":
        ";太短而看不清的时间段画得比实际宽,所以刻度不均匀",
    "checkpoints": "检查点",
    "alive": "活着",
    "exited in here": "在此期间退出",
    "reaped in here": "在此期间被回收",
    "zombie, seen at {t}": "僵尸进程,{t} 时看到",
    "adopted by {role}, seen by {t}": "被 {role} 收养,{t} 前已看到",
    "{name} at {t}": "{name},{t} 时",
    "Grey: exited, or reaped, between two looks; red: zombie; diamonds: checkpoints and adoptions; "
    "a short span is drawn wider, its name gives its times":
        "灰色:在两次查看之间退出或被回收;红色:僵尸进程;菱形:检查点和收养;"
        "很短的时间段画得宽一些,名字里是它的真实时间",
    "first seen as a zombie of {parent}": "第一次看到它时已是 {parent} 的僵尸进程",
    "; last seen alive at {ms} ms": ";最后一次看到它活着是在 {ms} ms",
    "gone from the table before any look saw it there": "还没有哪次查看在进程表里看到它,它就已经消失了",
    "gone from the table; last seen at {ms} ms as a zombie of {parent}, which was still alive":
        "已从进程表中消失;最后一次看到它是在 {ms} ms,那时是 {parent} 的僵尸进程,而 {parent} 仍然活着",
    "gone from the table; last seen at {ms} ms as a zombie of {parent}, which has ended too":
        "已从进程表中消失;最后一次看到它是在 {ms} ms,那时是 {parent} 的僵尸进程,而 {parent} 也已结束",
    "gone from the table; last seen alive ({state}) at {ms} ms (parent {parent}): it exited and was reaped in between":
        "已从进程表中消失;最后一次看到它活着({state})是在 {ms} ms(父进程 {parent}):它在这之后退出并被回收",
    # The trees' notes on each process's life.
    "adopted by {roles}": "被 {roles} 收养",
    ", then by ": " 收养,然后被 ",
    "killed by {signal}": "被 {signal} 杀死",
    "exit {code}": "退出码 {code}",
    "zombie at checkpoint {names}": "在检查点 {names} 时是僵尸进程",
    "zombie at checkpoints {names}": "在检查点 {names} 时是僵尸进程",
    "reaped by {role}": "由 {role} 回收",
    "never reaped (still a zombie at the end)": "从未被回收(结束时仍是僵尸进程)",
    "reaped (by whom not seen)": "已被回收(没有看到由谁回收)",
    "PID 1, the reaper": "PID 1,回收者",
    "(command not seen)": "(没有看到命令)",
    "{adopter} adopted {role}": "{adopter} 收养了 {role}",
}


def words(lang: Optional[str] = None, table: Optional[dict] = None):
    """``_(english, **values)`` for the pictures' own words (or ``table``'s), in ``lang``.

    English when ``lang`` is not zh.
    """
    chinese = ZH if table is None else table

    def _(english: str, **values: object) -> str:
        template = chinese.get(english, english) if lang == "zh" else english
        return template.format(**values) if values else template

    return _


@dataclass
class Adoption:
    by: str                  # the adopter's role
    by_pid: Optional[int]
    t_ms: float              # when the runner first saw the new parent (or reaped the process)


@dataclass
class Life:
    """What is known of one process, from its fork to its reaping."""

    pid: int
    role: str
    parent: Optional[int] = None       # the process that forked it
    command: str = ""
    nth: Optional[int] = None           # which of its parent's forks made it
    adoptions: list = field(default_factory=list)
    exit: Optional[dict] = None         # the status the runner collected
    zombie_at: list = field(default_factory=list)   # checkpoints that showed it as a zombie
    # Who reaped it, as every run shows it alike (see the module's doc).
    reaped_by: Optional[str] = None
    reaped_unseen: bool = False         # it left the table; who reaped it was not seen
    never_reaped: bool = False          # still a zombie when the run ended
    # Times, in ms from the start, for the timeline: the looks that bound each change.
    born_ms: Optional[float] = None     # its fork (the child's own clock, at its fork hook)
    first_seen_ms: Optional[float] = None
    alive_ms: Optional[float] = None    # the last moment it was seen alive (not a zombie)
    present_ms: Optional[float] = None  # the last moment it was seen in the table at all
    exit_ms: Optional[float] = None     # when the runner collected its exit status
    zombie_ms: Optional[float] = None   # the first moment it was seen as a zombie
    zombie_last_ms: Optional[float] = None   # the last moment it was seen as a zombie
    reap_ms: Optional[float] = None     # when the runner reaped it
    gone_ms: Optional[float] = None     # the first look that found it gone

    def saw(self, t: Optional[float], state: Optional[str] = None) -> None:
        """It was in the table at ``t`` (at the earliest moment of a look), in ``state``."""
        if t is None:
            return
        self.present_ms = t if self.present_ms is None else max(self.present_ms, t)
        self.first_seen_ms = t if self.first_seen_ms is None else min(self.first_seen_ms, t)
        if state == "Z":
            self.zombie_last_ms = t if self.zombie_last_ms is None else max(self.zombie_last_ms, t)
        elif state is not None:
            self.alive_ms = t if self.alive_ms is None else max(self.alive_ms, t)

    def saw_zombie(self, t: float) -> None:
        """It was a zombie by ``t`` (the latest moment of the look that saw it so)."""
        self.zombie_ms = t if self.zombie_ms is None else min(self.zombie_ms, t)

    def saw_gone(self, t: float) -> None:
        self.gone_ms = t if self.gone_ms is None else min(self.gone_ms, t)

    @property
    def adopters(self) -> list[str]:
        """Who adopted it, in order, each once in a row."""
        names: list[str] = []
        for adoption in self.adoptions:
            if not names or names[-1] != adoption.by:
                names.append(adoption.by)
        return names

    def notes(self, lang: Optional[str] = None) -> list[str]:
        """Its life in a few notes, the same in every run (no times), in ``lang`` (English unless zh)."""
        _ = words(lang)
        notes = []
        adopters = self.adopters
        if adopters:
            notes.append(_("adopted by {roles}", roles=_(", then by ").join(adopters)))
        if self.exit:
            notes.append(_("killed by {signal}", signal=self.exit["signal_name"]) if self.exit.get("signal")
                         else _("exit {code}", code=self.exit["code"]))
        if self.zombie_at:
            names = ", ".join(f"`{name}`" for name in self.zombie_at)
            notes.append(_("zombie at checkpoints {names}" if len(self.zombie_at) > 1
                           else "zombie at checkpoint {names}", names=names))
        if self.reaped_by:
            notes.append(_("reaped by {role}", role=self.reaped_by))
        elif self.never_reaped:
            notes.append(_("never reaped (still a zombie at the end)"))
        elif self.reaped_unseen:
            notes.append(_("reaped (by whom not seen)"))
        return notes


def role_order(role: Optional[str], pid: int = 0) -> tuple:
    """Sort roles as people count: main.2 before main.10, named roles after main's tree."""
    if role is None:
        return (2, (), pid)
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in role.split("."))
    return (0 if role == "main" or role.startswith("main.") else 1, parts, pid)


def reaper_command(run: dict) -> Optional[str]:
    """The runner's command when it was PID 1; None when it stepped aside (PID 1 shows its own)."""
    settings = (run.get("environment") or {}).get("run_settings") or {}
    return RUNNER_COMMAND if settings.get("pid1", "runner") == "runner" else None


def _look(snap: dict) -> tuple[float, float]:
    """The moments a snapshot's rows were read between (older documents: the snapshot's time)."""
    span = snap.get("rows_ms")
    if isinstance(span, list) and len(span) == 2:
        return float(span[0]), float(span[1])
    return snap["t_ms"], snap["t_ms"]


def lives(run: dict) -> tuple[Optional[int], dict[int, Life]]:
    """(the reaper's pid, every process of the run by pid)."""
    reaper = run["roles"].get("reaper")
    runner_command = reaper_command(run)
    found: dict[int, Life] = {}

    def life(pid: int, role: Optional[str]) -> Life:
        if pid not in found:
            found[pid] = Life(pid=pid, role=role or str(pid))
        return found[pid]

    for event in run["events"]:
        one = life(event["pid"], event.get("role"))
        kind, t = event["event"], event["t_ms"]
        if kind == "fork":
            one.parent = event.get("ppid")
            one.born_ms = t
            one.nth = event.get("nth")
        elif kind == "adopt":
            by = event.get("by_role") or str(event.get("by"))
            one.adoptions.append(Adoption(by=by, by_pid=event.get("by"), t_ms=t))
        elif kind == "exit":
            one.exit = event["status"]
            one.exit_ms = t
            one.saw(event.get("alive_ms"), "R")
        elif kind == "reap":
            one.reaped_by = event.get("by_role")
            one.reap_ms = t
            one.saw_gone(t)
        elif kind == "zombie":
            one.saw_zombie(t)
            one.saw(event.get("alive_ms"), "R")
        elif kind == "gone":
            one.saw_gone(t)
            one.saw(event.get("seen_ms"), event.get("state"))
            one.saw(event.get("alive_ms"), "R")

    # The snapshots: looks at the whole table at the checkpoints, in every run alike.
    snapshots = run["snapshots"]
    last_in_snapshot: dict[int, tuple[int, dict]] = {}
    for index, snap in enumerate(snapshots):
        start, end = _look(snap)
        for row in snap["processes"]:
            one = life(row["pid"], row["role"])
            if row["state"] != "Z":
                one.command = runner_command if row["pid"] == reaper and runner_command else row["command"]
            if one.parent is None and row["pid"] != reaper:
                one.parent = row["ppid"]
            elif row["ppid"] != one.parent and row["pid"] != reaper and row["parent_role"] \
                    and row["parent_role"] not in one.adopters:
                # A parent other than the one that forked it: it was adopted, whether
                # or not an event says so (watched from outside, only PID 1's adoptions are).
                one.adoptions.append(Adoption(by=row["parent_role"], by_pid=row["ppid"], t_ms=start))
            one.saw(start, row["state"])
            if row["state"] == "Z":
                one.saw_zombie(end)
                if snap["checkpoint"] not in one.zombie_at:
                    one.zombie_at.append(snap["checkpoint"])
            last_in_snapshot[row["pid"]] = (index, row)

    # A process the runner did not see go left the table before the first
    # snapshot taken after it was last seen (such a snapshot cannot show it).
    starts = [_look(snap)[0] for snap in snapshots]
    for one in found.values():
        last = max((t for t in (one.present_ms, one.born_ms, one.alive_ms) if t is not None), default=None)
        if last is None or one.pid == reaper:
            continue
        # A snapshot that showed it began no later than it was last seen, so
        # the first one to begin after that did not show it.
        after = bisect.bisect_right(starts, last)
        if after < len(snapshots):
            one.saw_gone(_look(snapshots[after])[1])

    _who_reaped(run, reaper, found, last_in_snapshot)

    # Main runs the lab; a forked child runs its parent's program, so one never
    # seen alive shows that, if its parent's program was seen: a parent never
    # seen may have run another (lab 07's main.5 exec'd python3 -u), and then
    # its child's command is not known and not shown.
    main = run.get("main") or {}
    if main.get("pid") in found and not found[main["pid"]].command:
        found[main["pid"]].command = main["command"]
    seen = {pid for pid, one in found.items() if one.command}
    for one, _ in ordered(reaper, found):
        # (The runner's children are main and orphans, which never ran its program;
        # when the runner stepped aside, PID 1 may be main itself.)
        if not one.command and one.parent in seen and (one.parent != reaper or reaper == main.get("pid")):
            one.command = found[one.parent].command
    return reaper, found


def _who_reaped(run: dict, reaper: Optional[int], found: dict[int, Life],
                last_in_snapshot: dict[int, tuple[int, dict]]) -> None:
    """Who reaped each process, from what every run shows alike: the runner's own
    reaps, and the checkpoints.

    Only a zombie's parent can collect it with wait(), and a process gets a
    new parent only when its parent dies: so a process that one checkpoint
    shows as a zombie of P, and the next one shows gone while P still lives,
    was reaped by P.  One the checkpoints saw alive and then gone exited and
    was reaped in between, by its parent or, when its parent ignores SIGCHLD,
    by the kernel.  Which of them it was, the parent's own wait() says: the
    fork hook notes each child a wait function returned ended (the notes
    behind every possible output, ``orders``).  Such a note is taken only
    from the process's last parent (the one that forked it, or the last that
    adopted it), which is the only process that can reap it, and only when
    no other process noted the same child; otherwise who reaped it is said
    to be not seen.  The runner's own looks between checkpoints see more,
    but not the same in every run, so they set the timeline's times and
    never the tree's words.
    """
    snapshots = run["snapshots"]
    if not snapshots:
        return
    waiters: dict[str, set[str]] = {}
    for process in (run.get("orders") or {}).get("processes") or []:
        for event in process.get("events") or []:
            if isinstance(event, list) and len(event) == 2 and event[0] == "reap" and isinstance(event[1], str):
                waiters.setdefault(event[1], set()).add(process.get("name"))

    def reaped_by_note(one: Life) -> None:
        """Who reaped ``one`` by its last parent's own note, if that is all the notes say; else not seen."""
        if one.adoptions:
            last_parent: Optional[str] = one.adoptions[-1].by
        else:
            last_parent = found[one.parent].role if one.parent in found else None
        if last_parent is not None and waiters.get(one.role) == {last_parent}:
            one.reaped_by = last_parent
        else:
            one.reaped_unseen = True
    tables: dict[int, dict[int, dict]] = {}

    def table(index: int) -> dict[int, dict]:
        if index not in tables:
            tables[index] = {row["pid"]: row for row in snapshots[index]["processes"]}
        return tables[index]

    last_index = len(snapshots) - 1
    last_start = _look(snapshots[-1])[0]
    for one in found.values():
        if one.pid == reaper or one.reaped_by is not None:
            continue
        seen = last_in_snapshot.get(one.pid)
        if seen is None:
            # Forked and gone between two checkpoints; the last snapshot came after its fork.
            if one.born_ms is not None and one.born_ms < last_start:
                reaped_by_note(one)
            continue
        index, row = seen
        if index == last_index:
            one.never_reaped = row["state"] == "Z" and snapshots[-1]["checkpoint"] == "end"
            continue
        parent = table(index + 1).get(row["ppid"])
        if row["state"] == "Z" and parent is not None and parent["state"] != "Z" and row["ppid"] in found:
            one.reaped_by = found[row["ppid"]].role
        else:
            reaped_by_note(one)


def _children(reaper: Optional[int], found: dict[int, Life]) -> dict[int, list[Life]]:
    children: dict[int, list[Life]] = {}
    for one in found.values():
        if one.pid != reaper and one.parent is not None:
            children.setdefault(one.parent, []).append(one)
    for kids in children.values():
        # In the order their parent forked them, which is the same in every run.
        kids.sort(key=lambda one: (one.nth is None, one.nth or 0, role_order(one.role, one.pid)))
    return children


def ordered(reaper: Optional[int], found: dict[int, Life]) -> list[tuple[Life, int]]:
    """Every process under the reaper, depth first, with its depth."""
    children = _children(reaper, found)
    out: list[tuple[Life, int]] = []

    def walk(pid: int, depth: int) -> None:
        for kid in children.get(pid, []):
            out.append((kid, depth))
            walk(kid.pid, depth + 1)

    if reaper in found:
        out.append((found[reaper], 0))
        walk(reaper, 1)
    return out


def tree_order(run: dict) -> dict[int, int]:
    """pid -> its place in the fork tree, depth first in fork order."""
    reaper, found = lives(run)
    return {one.pid: index for index, (one, _) in enumerate(ordered(reaper, found))}


# -- text ---------------------------------------------------------------------------

def text_tree(run: dict, lang: Optional[str] = None) -> list[str]:
    """The tree as text, one line per process, its notes in ``lang`` (English unless zh)."""
    _ = words(lang)
    reaper, found = lives(run)
    children = _children(reaper, found)
    if reaper not in found:
        return []
    # One line per process: a newline in a command or a checkpoint's name,
    # written out, cannot forge the next branch.
    lines = [one_line(f"{found[reaper].role}  {reaper_command(run) or found[reaper].command}".rstrip())]

    def label(one: Life) -> str:
        text = f"{one.role}  {one.command or _(NO_COMMAND)}"
        notes = one.notes(lang)
        return one_line(text + (" · " + " · ".join(notes) if notes else ""))

    def walk(pid: int, prefix: str) -> None:
        kids = children.get(pid, [])
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label(kid)}")
            walk(kid.pid, prefix + ("    " if last else "│   "))

    walk(reaper, "")
    return lines


# -- Mermaid ------------------------------------------------------------------------

def _mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label, on one line, with look-alikes for what Mermaid or
    the browser would interpret: the quote, entity codes (#quot;), tags and character
    references (&#x202e; would become a bidi override)."""
    return re.sub(r'["<>#&]', lambda m: {'"': "'", "<": "‹", ">": "›", "#": "♯", "&": "＆"}[m.group()],
                  one_line(text))


def mermaid_tree(run: dict, lang: Optional[str] = None) -> str:
    """A flowchart: solid arrows for fork, dotted ones from each adopter; zombies highlighted."""
    reaper, found = lives(run)
    processes = ordered(reaper, found)
    ids = {one.pid: f"p{index}" for index, (one, _) in enumerate(processes)}
    roles = {one.role: one.pid for one, _ in processes}
    lines = ["flowchart TD"]
    for one, _ in processes:
        # One note a line: Mermaid wraps a long line at a word, but never cuts it.
        extra = "".join("<br/>" + _mermaid_text(note) for note in one.notes(lang))
        lines.append(f'    {ids[one.pid]}["{_mermaid_text(one.role)}{extra}"]')
    for one, _ in processes:
        if one.parent in ids and one.pid != reaper:
            lines.append(f"    {ids[one.parent]} -->|fork| {ids[one.pid]}")
        for adopter in one.adopters:
            if roles.get(adopter) in ids:
                lines.append(f"    {ids[roles[adopter]]} -.->|adopts| {ids[one.pid]}")
    # Coloured as in the HTML's tree: a zombie at a checkpoint yellow, an adopted process blue.
    zombies = [ids[one.pid] for one, _ in processes if one.zombie_at]
    adopted = [ids[one.pid] for one, _ in processes if one.adoptions and not one.zombie_at]
    if zombies:
        lines.append("    classDef zombie fill:#fff1c2,stroke:#9a6700")
        lines.append(f"    class {','.join(zombies)} zombie")
    if adopted:
        lines.append("    classDef adopted fill:#ddf4ff,stroke:#0969da")
        lines.append(f"    class {','.join(adopted)} adopted")
    return "\n".join(lines)


# -- what the timeline draws ----------------------------------------------------------

#: How long, in ms, a zombie seen by one look only is drawn: a moment, which
#: the axis then widens to LEAST_SPAN px, as it does every short span.
SEEN_ONCE = 0.001


@dataclass
class Span:
    kind: str        # running, exiting (exit and maybe reap unseen in here), zombie, reaping
    start: float
    end: float
    says: str        # what it means, in words, with its times


def _ms(t: float) -> str:
    return f"{t:.1f} ms" if t < 100 else f"{t:.0f} ms"


def spans(one: Life, end: float) -> list[Span]:
    """One process's life as spans of time, from the evidence only.

    It was alive until the last look that saw it alive; it had exited by the
    first look that saw it a zombie (or gone, or by the time the runner
    collected its status): in between it exited, when exactly is not known.
    It was a zombie from the first look that saw it so until the runner
    reaped it, or until the last look that saw it so; then it was reaped
    before the look that found it gone.
    """
    start = one.born_ms if one.born_ms is not None else one.first_seen_ms
    if start is None:
        return []
    candidates = [t for t in (one.zombie_ms, one.exit_ms, one.gone_ms) if t is not None]
    dead = min(candidates) if candidates else None
    alive = max((t for t in (one.alive_ms, one.born_ms) if t is not None), default=start)
    if dead is not None:
        alive = min(alive, dead)
    alive = max(alive, start)
    out: list[Span] = []
    if dead is None:
        # Never seen to end: it was still there when the run ended.
        out.append(Span("running", start, end, f"{one.role} alive from {_ms(start)} to the end"))
        return out
    out.append(Span("running", start, alive, f"{one.role} alive from {_ms(start)}, "
                    f"last seen alive at {_ms(alive)}"))
    # A zombie phase shows when a look saw it, or when the runner learned the
    # exit (WNOWAIT) before it reaped.
    zombie_from = one.zombie_ms
    if zombie_from is None and one.exit_ms is not None and one.reap_ms is not None and one.exit_ms < one.reap_ms:
        zombie_from = one.exit_ms
    if zombie_from is None:
        gone = one.gone_ms if one.gone_ms is not None else dead
        if gone > alive:
            out.append(Span("exiting", alive, gone, f"{one.role} exited and was reaped between {_ms(alive)} "
                            f"(last seen alive) and {_ms(gone)} (gone)"))
        return out
    zombie_from = max(zombie_from, alive)
    if zombie_from > alive:
        out.append(Span("exiting", alive, zombie_from, f"{one.role} exited between {_ms(alive)} "
                        f"(last seen alive) and {_ms(zombie_from)} (seen a zombie)"))
    if one.reap_ms is not None:
        reaped = max(one.reap_ms, zombie_from)
        out.append(Span("zombie", zombie_from, reaped, f"{one.role} a zombie from {_ms(zombie_from)}, "
                        f"reaped at {_ms(reaped)}"))
        return out
    if one.gone_ms is None:
        out.append(Span("zombie", zombie_from, end, f"{one.role} a zombie from {_ms(zombie_from)} to the end: "
                        "never reaped"))
        return out
    last = max(one.zombie_last_ms if one.zombie_last_ms is not None else zombie_from, zombie_from)
    last = min(last, one.gone_ms)
    if last <= zombie_from:
        # One look saw it a zombie: a moment, which the axis widens like any short span.
        last = min(zombie_from + SEEN_ONCE, one.gone_ms)
        says = f"{one.role} seen as a zombie at {_ms(zombie_from)}"
    else:
        says = f"{one.role} a zombie from {_ms(zombie_from)}, last seen so at {_ms(last)}"
    out.append(Span("zombie", zombie_from, last, says))
    if one.gone_ms > last:
        out.append(Span("reaping", last, one.gone_ms, f"{one.role} reaped between {_ms(last)} "
                        f"(last seen a zombie) and {_ms(one.gone_ms)} (gone)"))
    return out


def _run_end(run: dict, found: dict[int, Life]) -> float:
    times = [s["t_ms"] for s in run["snapshots"]] + [_look(s)[1] for s in run["snapshots"]] + \
        [e["t_ms"] for e in run["events"]]
    return max(times, default=1.0) or 1.0


def mermaid_timeline(run: dict, lang: Optional[str] = None) -> str:
    """A Gantt chart of each process's life, in milliseconds from the start.

    Mermaid draws time evenly, so a span too short to see is drawn at a
    least width; its name gives its real times.  Hatched spans of the SVG
    (an exit or a reap somewhere between two looks) are grey ("done") here;
    checkpoints and adoptions are milestones.
    """
    _ = words(lang)
    reaper, found = lives(run)
    end = _run_end(run, found)
    least = max(end / 60, 1.0)
    # Under a second the axis reads in ms; Mermaid has no format for longer runs in ms.
    axis = "%-L ms" if end < 1000 else "%M:%S.%L"
    legend = _("Grey: exited, or reaped, between two looks; red: zombie; diamonds: checkpoints and adoptions; "
               "a short span is drawn wider, its name gives its times")
    lines = ["gantt", f"    title {legend}", "    dateFormat x", f"    axisFormat {axis}"]
    names = {"running": _("alive"), "exiting": _("exited in here"), "zombie": _("zombie"),
             "reaping": _("reaped in here")}
    tags = {"running": "", "exiting": "done, ", "zombie": "crit, ", "reaping": "done, "}

    def name(text: str) -> str:
        # A task's name ends at its colon, and a # or ; would start something else.
        return _mermaid_text(text).replace(":", "∶").replace(";", "；")

    if run["snapshots"]:
        lines.append(f"    section {_('checkpoints')}")
        for snap in run["snapshots"]:
            lines.append(f"    {_('{name} at {t}', name=name(snap['checkpoint']), t=_ms(snap['t_ms']))} "
                         f":milestone, {round(snap['t_ms'])}, 0ms")
    for one, _depth in ordered(reaper, found):
        if one.pid == reaper:
            continue
        lines.append(f"    section {name(one.role)}")
        for span in spans(one, end):
            stop = max(span.end, span.start + least)
            if span.kind == "zombie" and span.end - span.start <= SEEN_ONCE:
                text = _("zombie, seen at {t}", t=_ms(span.start))
            else:
                text = f"{names[span.kind]} {_ms(span.start)}–{_ms(span.end)}"
            lines.append(f"    {text} :{tags[span.kind]}{round(span.start)}, {max(round(stop), round(span.start) + 1)}")
        for adoption in one.adoptions:
            lines.append(f"    {_('adopted by {role}, seen by {t}', role=name(adoption.by), t=_ms(adoption.t_ms))} "
                         f":milestone, {round(adoption.t_ms)}, 0ms")
    return "\n".join(lines)


# -- SVG ----------------------------------------------------------------------------

def _svg_text(text: str) -> str:
    """Text for an SVG label, title or attribute: one line, controls written out, markup escaped."""
    return escape(one_line(text))


def _width(text: str, size: float = 13) -> float:
    """About how wide ``text`` is drawn at ``size`` px: CJK characters are square, others narrower."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def _wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` cut into lines of at most about ``width`` px, at spaces where it can be."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if _width(candidate, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
        while _width(line, size) > width and len(line) > 1:
            cut = len(line)
            while cut > 1 and _width(line[:cut], size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line)
    return lines


#: The pictures are this wide, about the page's width; a wider tree or timeline scrolls.
PAGE_W = 1000


def svg_tree(run: dict, lang: Optional[str] = None) -> str:
    """The process tree as inline SVG: one row per process, indented under its parent.

    Each process is a box (class "process") with its role; beside it, its
    command and its life in full notes, wrapped to the page's width.  Solid
    elbows show forks, dashed curves adoptions, from the adopter to the adopted.
    """
    tr = words(lang)
    reaper, found = lives(run)
    if reaper not in found:
        return ""
    rows = ordered(reaper, found)
    indent, pad, box_h, line_h, gap = 30, 44, 28, 16, 10
    box_w = min(max(max(_width(one_line(one.role), 13) for one, _ in rows) + 20, 90), 260)
    notes_x = pad + max(depth for _, depth in rows) * indent + box_w + 14
    notes_w = max(PAGE_W - notes_x - 8, 260)
    width = notes_x + notes_w + 8
    layout: dict[int, tuple[float, float, int]] = {}   # pid -> (x, y, row height)
    texts: dict[int, list[tuple[str, str]]] = {}
    lives_notes = {one.pid: one.notes(lang) for one, _ in rows}
    y = 8.0
    for one, depth in rows:
        command = (reaper_command(run) or one.command) if one.pid == reaper else one.command
        notes = [tr("PID 1, the reaper")] if one.pid == reaper else lives_notes[one.pid]
        lines = [("command", part) for part in _wrap(one_line(command or tr(NO_COMMAND)), notes_w, 12)]
        for note in notes:
            lines += [("note", part) for part in _wrap(one_line(note), notes_w, 12)]
        texts[one.pid] = lines
        height = max(box_h, len(lines) * line_h + 6)
        layout[one.pid] = (pad + depth * indent, y, height)
        y += height + gap
    total_h = y
    parts = [f'<svg class="tree" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {total_h:.0f}" '
             f'width="{width:.0f}" height="{total_h:.0f}" role="img" aria-label="process tree">',
             '<defs><marker id="forklab-adopt-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="adopt-head" />'
             '</marker></defs>']
    for one, _ in rows:
        if one.pid == reaper or one.parent not in layout:
            continue
        (px, py, _h), (cx, cy, _h2) = layout[one.parent], layout[one.pid]
        x = px + 14
        parts.append(f'<path class="fork" d="M{x:.0f},{py + box_h:.0f} V{cy + box_h / 2:.0f} H{cx:.0f}" />')
    roles = {one.role: one.pid for one, _ in rows}
    for one, _ in rows:
        for adopter in one.adopters:
            if roles.get(adopter) not in layout:
                continue
            (ax, ay, _h), (cx, cy, _h2) = layout[roles[adopter]], layout[one.pid]
            bend = min(ax, cx) - 26 - min(abs(cy - ay) / 12, 12)
            parts.append(f'<path class="adopt" marker-end="url(#forklab-adopt-head)" '
                         f'd="M{ax:.0f},{ay + box_h / 2:.0f} C{bend:.0f},{ay + box_h / 2:.0f} '
                         f'{bend:.0f},{cy + box_h / 2:.0f} {cx:.0f},{cy + box_h / 2:.0f}"><title>'
                         f'{_svg_text(tr("{adopter} adopted {role}", adopter=adopter, role=one.role))}</title></path>')
    for one, _ in rows:
        x, top, _h = layout[one.pid]
        kind = "zombie" if one.zombie_at else ("adopted" if one.adoptions else "")
        notes = lives_notes[one.pid]
        title = _svg_text(f"{one.role}: {one.command}" + (" · " + " · ".join(notes) if notes else ""))
        role = _svg_text(one.role)
        parts.append(f'<g class="process {kind}" data-role="{role}"><title>{title}</title>'
                     f'<rect x="{x:.0f}" y="{top:.0f}" width="{box_w:.0f}" height="{box_h}" rx="6" />'
                     f'<text x="{x + 9:.0f}" y="{top + 18:.0f}" class="role">{role}</text>')
        for index, (kind_of_line, text) in enumerate(texts[one.pid]):
            parts.append(f'<text x="{notes_x:.0f}" y="{top + 14 + index * line_h:.0f}" class="{kind_of_line}">'
                         f'{escape(text)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


#: The least width, in px, of a span of the timeline, and between two checkpoints' lines.
LEAST_SPAN = 12
LEAST_CHECKPOINTS = 15


def _axis(moments: list[float], spans_: list[tuple[float, float]], apart: list[tuple[float, float]],
          plot_w: float) -> tuple[list[float], list[float], bool]:
    """Where each moment goes: time runs evenly, but every span gets LEAST_SPAN px at
    least and checkpoints LEAST_CHECKPOINTS px apart, so a zombie of 2 ms is not a sliver.

    Returns the moments, their x (0 to the plot's width, which grows when
    they do not fit) and whether any span was widened (the scale is uneven then).
    """
    times = sorted(set(moments))
    index = {t: i for i, t in enumerate(times)}
    needs: dict[int, list[tuple[int, float]]] = {}
    for (a, b), least in [(s, LEAST_SPAN) for s in spans_] + [(s, LEAST_CHECKPOINTS) for s in apart]:
        if b > a:
            needs.setdefault(index[b], []).append((index[a], least))

    def place(scale: float) -> tuple[list[float], bool]:
        xs, widened = [0.0], False
        for i in range(1, len(times)):
            x = xs[-1] + scale * (times[i] - times[i - 1])
            for j, least in needs.get(i, []):
                if xs[j] + least > x + 1e-9:
                    x, widened = xs[j] + least, True
            xs.append(x)
        return xs, widened

    low, high = 0.0, plot_w / max(times[-1] - times[0], 1e-9)
    xs, widened = place(low)
    if xs[-1] >= plot_w:
        return times, xs, widened
    for _ in range(40):
        middle = (low + high) / 2
        if place(middle)[0][-1] > plot_w:
            high = middle
        else:
            low = middle
    xs, widened = place(low)
    return times, xs, widened


def _nice_step(total: float, count: int = 6) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts ``total`` into about ``count`` parts."""
    raw = max(total / count, 1e-3)
    power = 10.0 ** math.floor(math.log10(raw))
    return next(power * factor for factor in (1, 2, 5, 10) if power * factor >= raw)


def svg_timeline(run: dict, lang: Optional[str] = None) -> str:
    """Each process's life as a bar: alive, then zombie until reaped; hatched where the
    change happened between two looks; checkpoints as labelled lines; adoptions marked.
    Its legend is drawn under it, in ``lang``."""
    _ = words(lang)
    reaper, found = lives(run)
    rows = [one for one, _ in ordered(reaper, found) if one.pid != reaper]
    if not rows:
        return ""
    end = _run_end(run, found)
    drawn = {one.pid: spans(one, end) for one in rows}
    checkpoints = [(snap["checkpoint"], snap["t_ms"]) for snap in run["snapshots"]]
    moments = [0.0, end] + [t for _, t in checkpoints]
    moments += [t for spans_ in drawn.values() for s in spans_ for t in (s.start, s.end)]
    adoptions = [(one, a) for one in rows for a in one.adoptions]
    moments += [a.t_ms for _, a in adoptions]
    label_w = min(max(max(_width(one_line(one.role), 13) for one in rows) + 16, 70), 220)
    plot_w = PAGE_W - label_w - 130
    times, xs, widened = _axis(moments, [(s.start, s.end) for spans_ in drawn.values() for s in spans_],
                               list(zip([t for _, t in checkpoints], [t for _, t in checkpoints][1:])), plot_w)
    plot_w = max(plot_w, xs[-1])

    def x(ms: float) -> float:
        i = bisect.bisect_left(times, ms)
        if i < len(times) and times[i] == ms:
            return label_w + xs[i]
        if i == 0:
            return label_w
        if i >= len(times):
            return label_w + xs[-1]
        share = (ms - times[i - 1]) / (times[i] - times[i - 1])
        return label_w + xs[i - 1] + share * (xs[i] - xs[i - 1])

    # The checkpoints' names stand above the plot, slanted so that close ones do not overlap.
    slant = 0.64  # sin 40°
    names = [one_line(name) for name, _ in checkpoints]
    top = 14 + (max((_width(name, 11) for name in names), default=0) + 8) * slant
    row_h = 24
    bottom = top + len(rows) * row_h
    # Room on the right for "never reaped" and for the last checkpoints' slanted names.
    width = max([label_w + plot_w + 130] + [x(t) + 14 + _width(name, 11) * 0.77
                                            for name, (_raw, t) in zip(names, checkpoints)])
    # Under the axis: its caption, then the legend, which may take two lines.
    height = bottom + 52 + 50
    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="timeline">',
             '<defs><pattern id="forklab-hatch-exit" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-ground" />'
             '<line x1="0" y1="0" x2="0" y2="6" class="hatch-exit" /></pattern>'
             '<pattern id="forklab-hatch-reap" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-ground" />'
             '<line x1="0" y1="0" x2="0" y2="6" class="hatch-reap" /></pattern></defs>']
    for name, (raw, t) in zip(names, checkpoints):
        at = x(t)
        parts.append(f'<g class="checkpoint"><line x1="{at:.1f}" y1="{top - 4:.1f}" x2="{at:.1f}" '
                     f'y2="{bottom + 4:.1f}" /><text class="checkpoint-name" transform="translate({at + 3:.1f},'
                     f'{top - 6:.1f}) rotate(-40)">{escape(name)}</text>'
                     f'<title>{_svg_text(raw)} at {_ms(t)}</title></g>')
    for index, one in enumerate(rows):
        y = top + index * row_h
        role = _svg_text(one.role)
        parts.append(f'<g class="life" data-role="{role}">'
                     f'<text x="4" y="{y + 16:.1f}" class="role">{role}</text>')
        for span in drawn[one.pid]:
            left, right = x(span.start), x(span.end)
            parts.append(f'<rect class="{span.kind}" x="{left:.1f}" y="{y + 5:.1f}" '
                         f'width="{max(right - left, 1.5):.1f}" height="{row_h - 10}">'
                         f'<title>{_svg_text(span.says)}</title></rect>')
        spans_ = drawn[one.pid]
        if spans_ and spans_[-1].kind == "zombie" and one.gone_ms is None and one.reap_ms is None:
            never = escape(_("never reaped"))
            parts.append(f'<text x="{x(end) + 6:.1f}" y="{y + 16:.1f}" class="never">{never}</text>')
        for adoption in one.adoptions:
            at = x(adoption.t_ms)
            mid = y + row_h / 2
            parts.append(f'<path class="adoption" d="M{at:.1f},{mid - 7:.1f} L{at + 6:.1f},{mid:.1f} '
                         f'L{at:.1f},{mid + 7:.1f} L{at - 6:.1f},{mid:.1f} z"><title>'
                         f'{_svg_text(f"{one.role} adopted by {adoption.by}: seen so by {_ms(adoption.t_ms)}")}'
                         f'</title></path>')
        parts.append("</g>")
    # The axis: real times at round values, wherever the (uneven) scale puts them.
    parts.append(f'<line class="axis-line" x1="{label_w}" y1="{bottom + 6:.1f}" x2="{label_w + xs[-1]:.1f}" '
                 f'y2="{bottom + 6:.1f}" />')
    step, last_x = _nice_step(end), -1e9
    tick = 0.0
    while tick <= end + 1e-9:
        at = x(tick)
        if at - last_x >= 48:
            label = f"{tick:g} ms" if step < 1000 else f"{tick / 1000:g} s"
            parts.append(f'<line class="axis-line" x1="{at:.1f}" y1="{bottom + 6:.1f}" x2="{at:.1f}" '
                         f'y2="{bottom + 10:.1f}" /><text x="{at:.1f}" y="{bottom + 22:.1f}" class="axis" '
                         f'text-anchor="middle">{label}</text>')
            last_x = at
        tick += step
    caption = _("time since the lab started")
    if widened:
        caption += _("; spans too short to see are drawn wider than their time, so the scale is uneven")
    parts.append(f'<text x="{label_w}" y="{bottom + 40:.1f}" class="axis">{escape(caption)}</text>')
    # The legend: a swatch and its words, one after another, on as many lines as they need.
    at_x, at_y = 4.0, bottom + 62
    for kind, text in (("running", _("alive: running, sleeping or stopped (until the last look that saw it so)")),
                       ("exiting", _("exited in here (between two looks)")), ("zombie", _("zombie")),
                       ("reaping", _("reaped in here (between two looks)")), ("adoption", _("adopted")),
                       ("checkpoint", _("checkpoint"))):
        wide = 22 + _width(text, 12) + 18
        if at_x + wide > width and at_x > 4:
            at_x, at_y = 4.0, at_y + 20
        if kind == "adoption":
            swatch = (f'<path class="adoption" d="M{at_x + 7:.1f},{at_y - 12:.1f} L{at_x + 13:.1f},{at_y - 5:.1f} '
                      f'L{at_x + 7:.1f},{at_y + 2:.1f} L{at_x + 1:.1f},{at_y - 5:.1f} z" />')
        elif kind == "checkpoint":
            swatch = (f'<g class="checkpoint"><line x1="{at_x + 7:.1f}" y1="{at_y - 13:.1f}" x2="{at_x + 7:.1f}" '
                      f'y2="{at_y + 3:.1f}" /></g>')
        else:
            swatch = f'<rect class="{kind}" x="{at_x:.1f}" y="{at_y - 11:.1f}" width="16" height="12" />'
        parts.append(f'<g class="legend">{swatch}<text x="{at_x + 22:.1f}" y="{at_y:.1f}" class="legend-text">'
                     f'{escape(text)}</text></g>')
        at_x += wide
    parts.append("</svg>")
    return "".join(parts)
