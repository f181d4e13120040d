"""Pictures of a run: the process tree and each process's life on a timeline.

One model (``lives``) is built from the runner's events and snapshots and drawn
four ways: a plain text tree, a Mermaid flowchart (GitHub and GitLab render it
in report.md), an inline SVG tree and an inline SVG timeline (report.html).
Nothing external is needed: no graphviz, no JavaScript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import Optional

from forklab.normalize import one_line

RUNNER_COMMAND = "python3 -m forklab.runner"


@dataclass
class Life:
    """What is known of one process, from its fork to its reaping."""

    pid: int
    role: str
    parent: Optional[int] = None       # the process that forked it
    command: str = ""
    born_ms: Optional[float] = None
    adopted_by: Optional[str] = None
    exit: Optional[dict] = None
    ended_ms: Optional[float] = None    # when it stopped running (exit, or first seen as a zombie)
    reaped_by: Optional[str] = None
    gone_ms: Optional[float] = None     # when it left the process table
    zombie_at: list = field(default_factory=list)
    nth: Optional[int] = None           # which of its parent's forks made it

    @property
    def fate(self) -> list[str]:
        notes = []
        if self.adopted_by:
            notes.append(f"adopted by {self.adopted_by}")
        if self.exit:
            notes.append(f"killed by {self.exit['signal_name']}" if self.exit.get("signal")
                         else f"exit {self.exit['code']}")
        notes += [f"zombie at {name}" for name in self.zombie_at]
        if self.reaped_by:
            notes.append(f"reaped by {self.reaped_by}")
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
        if event["event"] == "fork":
            one.parent = event.get("ppid")
            one.born_ms = event["t_ms"]
            one.nth = event.get("nth")
        elif event["event"] == "adopt":
            one.adopted_by = event.get("by_role")
        elif event["event"] == "exit":
            one.exit = event["status"]
            one.ended_ms = event["t_ms"]
        elif event["event"] == "reap":
            one.reaped_by = event.get("by_role")
            one.gone_ms = event["t_ms"]
    for snap in run["snapshots"]:
        for row in snap["processes"]:
            one = life(row["pid"], row["role"])
            if row["state"] != "Z":
                one.command = runner_command if row["pid"] == reaper and runner_command else row["command"]
            if one.parent is None and row["pid"] != reaper:
                one.parent = row["ppid"]
            if one.born_ms is None:
                one.born_ms = snap["t_ms"]
            if row["state"] == "Z":
                if snap["checkpoint"] not in one.zombie_at:
                    one.zombie_at.append(snap["checkpoint"])
                if one.ended_ms is None:
                    one.ended_ms = snap["t_ms"]
    # A process the runner did not reap left the table between the last
    # snapshot that showed it and the next one.  One pass: only what the
    # previous snapshot showed can be missing from this one.
    watching: set[int] = set()
    left: set[int] = set()
    for snap in run["snapshots"]:
        here = {row["pid"] for row in snap["processes"]}
        for pid in watching - here:
            if found[pid].gone_ms is None:
                found[pid].gone_ms = snap["t_ms"]
            left.add(pid)
        watching = here - left
    ended = run["snapshots"][-1] if run["snapshots"] else None
    at_end = {row["pid"] for row in ended["processes"]} if ended else set()
    last_parent: dict[int, int] = {}
    for snap in run["snapshots"]:
        for row in snap["processes"]:
            last_parent[row["pid"]] = row["ppid"]
    for one in found.values():
        # Only a process's parent (or the runner, which says so) collects it: one
        # gone at the end was reaped by the parent it last had (its fork parent,
        # or a subreaper that adopted it).
        collector = last_parent.get(one.pid, one.parent)
        if one.reaped_by is None and one.pid not in at_end and collector in found \
                and one.pid != reaper and ended is not None:
            one.reaped_by = found[collector].role
        if one.ended_ms is None and one.gone_ms is not None:
            one.ended_ms = one.gone_ms
    # Main runs the lab; a forked child runs its parent's program, so one never
    # seen alive shows that.
    main = run.get("main") or {}
    if main.get("pid") in found and not found[main["pid"]].command:
        found[main["pid"]].command = main["command"]
    for one, _ in ordered(reaper, found):
        if not one.command and one.parent in found and one.parent != reaper:
            one.command = found[one.parent].command
    return reaper, found


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

def text_tree(run: dict) -> list[str]:
    reaper, found = lives(run)
    children = _children(reaper, found)
    if reaper not in found:
        return []
    # One line per process: a newline in a command or a checkpoint's name,
    # written out, cannot forge the next branch.
    lines = [one_line(f"{found[reaper].role}  {reaper_command(run) or found[reaper].command}".rstrip())]

    def label(one: Life) -> str:
        text = f"{one.role}  {one.command}".rstrip()
        return one_line(text + (" · " + " · ".join(one.fate) if one.fate else ""))

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


def mermaid_tree(run: dict) -> str:
    """A flowchart: solid arrows for fork, dotted for adoption; zombies highlighted."""
    reaper, found = lives(run)
    processes = ordered(reaper, found)
    ids = {one.pid: f"p{index}" for index, (one, _) in enumerate(processes)}
    lines = ["flowchart TD"]
    for one, _ in processes:
        extra = "<br/>" + _mermaid_text(", ".join(one.fate)) if one.fate else ""
        lines.append(f'    {ids[one.pid]}["{_mermaid_text(one.role)}{extra}"]')
    for one, _ in processes:
        if one.parent in ids and one.pid != reaper:
            lines.append(f"    {ids[one.parent]} -->|fork| {ids[one.pid]}")
        if one.adopted_by and one.parent != reaper and reaper in ids:
            lines.append(f"    {ids[reaper]} -.->|adopts| {ids[one.pid]}")
    zombies = [ids[one.pid] for one, _ in processes if one.zombie_at]
    if zombies:
        lines.append("    classDef zombie fill:#fff1c2,stroke:#9a6700")
        lines.append(f"    class {','.join(zombies)} zombie")
    return "\n".join(lines)


def mermaid_timeline(run: dict) -> str:
    """A Gantt chart of each process's life, in milliseconds from the start."""
    reaper, found = lives(run)
    end = _run_end(run, found)
    lines = ["gantt", "    dateFormat x", "    axisFormat %S.%L s"]
    for one, _ in ordered(reaper, found):
        if one.pid == reaper:
            continue
        start, stop, zombie_until = _span(one, end)
        lines.append(f"    section {_mermaid_text(one.role)}")
        lines.append(f"    running :{int(start)}, {max(int(stop), int(start) + 1)}")
        if zombie_until is not None and zombie_until > stop:
            lines.append(f"    zombie :crit, {int(stop)}, {max(int(zombie_until), int(stop) + 1)}")
    return "\n".join(lines)


# -- SVG ----------------------------------------------------------------------------

def _svg_text(text: str) -> str:
    """Text for an SVG label, title or attribute: one line, controls written out, markup escaped."""
    return escape(one_line(text))


def svg_tree(run: dict) -> str:
    """The process tree as inline SVG: one box (class "process") per process."""
    reaper, found = lives(run)
    children = _children(reaper, found)
    if reaper not in found:
        return ""
    box_w, box_h, gap_x, gap_y = 200, 46, 16, 40
    slots: dict[int, float] = {}
    depth_of: dict[int, int] = {}
    next_leaf = [0]

    def place(pid: int, depth: int) -> float:
        depth_of[pid] = depth
        kids = children.get(pid, [])
        if not kids:
            slots[pid] = next_leaf[0]
            next_leaf[0] += 1
        else:
            positions = [place(kid.pid, depth + 1) for kid in kids]
            slots[pid] = (positions[0] + positions[-1]) / 2
        return slots[pid]

    place(reaper, 0)
    width = max(next_leaf[0], 1) * (box_w + gap_x) + gap_x
    height = (max(depth_of.values()) + 1) * (box_h + gap_y) + gap_y

    def xy(pid: int) -> tuple[float, float]:
        return gap_x + slots[pid] * (box_w + gap_x), gap_y / 2 + depth_of[pid] * (box_h + gap_y)

    parts = [f'<svg class="tree" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" role="img" aria-label="process tree">']
    for one, _ in ordered(reaper, found):
        if one.pid == reaper or one.parent not in slots:
            continue
        (px, py), (cx, cy) = xy(one.parent), xy(one.pid)
        parts.append(f'<line class="fork" x1="{px + box_w / 2:.0f}" y1="{py + box_h:.0f}" '
                     f'x2="{cx + box_w / 2:.0f}" y2="{cy:.0f}" />')
        if one.adopted_by and one.parent != reaper:
            rx, ry = xy(reaper)
            parts.append(f'<path class="adopt" d="M{rx + box_w:.0f},{ry + box_h / 2:.0f} '
                         f'C{cx + box_w + 30:.0f},{ry + box_h / 2:.0f} {cx + box_w + 30:.0f},{cy:.0f} '
                         f'{cx + box_w:.0f},{cy + box_h / 3:.0f}" />')
    for one, _ in ordered(reaper, found):
        x, y = xy(one.pid)
        kind = "zombie" if one.zombie_at else ("adopted" if one.adopted_by else "")
        # Shortened once written out, so that no escape is cut in two.
        note = one_line(", ".join(one.fate) if one.pid != reaper else "PID 1, the reaper")
        note = escape(note if len(note) <= 32 else note[:31] + "…")
        title = _svg_text(f"{one.role}: {one.command}" + (" · " + " · ".join(one.fate) if one.fate else ""))
        role = _svg_text(one.role)
        parts.append(f'<g class="process {kind}" data-role="{role}"><title>{title}</title>'
                     f'<rect x="{x:.0f}" y="{y:.0f}" width="{box_w}" height="{box_h}" rx="6" />'
                     f'<text x="{x + 8:.0f}" y="{y + 18:.0f}" class="role">{role}</text>'
                     f'<text x="{x + 8:.0f}" y="{y + 36:.0f}" class="note">{note}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _run_end(run: dict, found: dict[int, Life]) -> float:
    times = [s["t_ms"] for s in run["snapshots"]] + [e["t_ms"] for e in run["events"]]
    return max(times, default=1.0) or 1.0


def _span(one: Life, end: float) -> tuple[float, float, Optional[float]]:
    """(born, stopped running, left the table or None if never a zombie) in ms."""
    start = one.born_ms or 0.0
    stop = one.ended_ms if one.ended_ms is not None else end
    gone = one.gone_ms if one.gone_ms is not None else end
    return start, max(stop, start), (gone if gone > stop else None)


def svg_timeline(run: dict) -> str:
    """Each process's life as a bar: running, then zombie until reaped; checkpoints as lines."""
    reaper, found = lives(run)
    rows = [one for one, _ in ordered(reaper, found) if one.pid != reaper]
    if not rows:
        return ""
    end = _run_end(run, found)
    label_w, plot_w, row_h, top = 130, 560, 24, 28
    height = top + len(rows) * row_h + 30

    def x(ms: float) -> float:
        return label_w + plot_w * (ms / end)

    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {label_w + plot_w + 20} '
             f'{height}" width="{label_w + plot_w + 20}" role="img" aria-label="timeline">']
    for snap in run["snapshots"]:
        parts.append(f'<g class="checkpoint"><line x1="{x(snap["t_ms"]):.1f}" y1="{top - 6}" '
                     f'x2="{x(snap["t_ms"]):.1f}" y2="{height - 24}" /><title>{_svg_text(snap["checkpoint"])}'
                     f' at {snap["t_ms"]:.0f} ms</title></g>')
    for index, one in enumerate(rows):
        y = top + index * row_h
        start, stop, gone = _span(one, end)
        role = _svg_text(one.role)
        parts.append(f'<g class="life" data-role="{role}">'
                     f'<text x="4" y="{y + 15}" class="role">{role}</text>'
                     f'<rect class="running" x="{x(start):.1f}" y="{y + 4}" width="{max(x(stop) - x(start), 2):.1f}" '
                     f'height="{row_h - 8}"><title>{role} running {start:.0f}–{stop:.0f} ms</title></rect>')
        if gone is not None:
            parts.append(f'<rect class="zombie" x="{x(stop):.1f}" y="{y + 4}" width="{max(x(gone) - x(stop), 2):.1f}" '
                         f'height="{row_h - 8}"><title>{role} zombie {stop:.0f}–{gone:.0f} ms'
                         f'</title></rect>')
        parts.append("</g>")
    parts.append(f'<text x="{label_w}" y="{height - 8}" class="axis">0 ms</text>'
                 f'<text x="{label_w + plot_w}" y="{height - 8}" class="axis" text-anchor="end">{end:.0f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)
