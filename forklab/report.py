"""Renders a result document into the report files, and writes them atomically.

``reports/lab-NN/`` holds report.md, report.html, result.json, stdout.log,
stderr.log and one raw ``ps`` text file per snapshot.  The files are written
into a fresh folder beside the old one and swapped in at the end, so a failed
or interrupted run never leaves half a report or destroys the previous one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Optional

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

RUNNER_DISPLAY = "python3 -m forklab.runner"


# -- helpers the templates use --------------------------------------------------

def fence(text: str, info: str = "text") -> str:
    """A Markdown code block that no backtick run inside ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{ticks}{info}\n{body}{ticks}"


def cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    if text.count("`") % 2:
        text = text.replace("`", "\\`")  # an odd one would open a code span that never closes
    return " ".join(text.split())


def mib(kb: Optional[int]) -> str:
    if kb is None:
        return "?"
    if not kb:
        return "0"
    return f"{round(kb / 1024)} MiB"


def mib_bytes(count: Optional[int]) -> str:
    return "?" if count is None else mib(count // 1024)


def snapshot_filename(index: int, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "snapshot"
    return f"snapshot-{index:02d}-{safe}.ps.txt"


def display_rows(result: dict, snapshot: dict) -> list[dict]:
    """Snapshot rows as a student reads them: roles, a parent, and what is special."""
    reaper = result["roles"].get("reaper")
    main = result["roles"].get("main")
    rows = []
    for row in snapshot["processes"]:
        notes = []
        if row["state"] == "Z":
            notes.append("zombie")
        if row["ppid"] == reaper and row["pid"] not in (main, reaper):
            notes.append("adopted")
        command = RUNNER_DISPLAY if row["pid"] == reaper else row["command"]
        rows.append({"role": row["role"], "parent": row["parent_role"] or ("-" if row["ppid"] == 0 else "(outside the lab)"),
                     "state": row["state"], "command": command, "memory": mib(row["rss_kb"]),
                     "private": mib(row.get("private_kb")),
                     "notes": notes, "key": bool(notes)})
    return rows


def process_tree(result: dict) -> list[str]:
    """Who forked whom, who adopted and reaped whom: one line per process."""
    roles = result["roles"]
    reaper = roles.get("reaper")
    names: dict[int, str] = {}
    parent_of: dict[int, int] = {}
    command: dict[int, str] = {}
    for snap in result["snapshots"]:
        for row in snap["processes"]:
            names.setdefault(row["pid"], row["role"])
            parent_of.setdefault(row["pid"], row["ppid"])
            command.setdefault(row["pid"], row["command"])
    notes: dict[int, list[str]] = {}
    for event in result["events"]:
        pid = event["pid"]
        names.setdefault(pid, event.get("role"))
        if event["event"] == "fork" and event.get("ppid"):
            parent_of[pid] = event["ppid"]  # the fork parent wins over a later adopter
        elif event["event"] == "adopt":
            notes.setdefault(pid, []).append(f"adopted by {event.get('by_role')}")
        elif event["event"] == "exit":
            status = event["status"]
            notes.setdefault(pid, []).append(
                f"killed by {status['signal_name']}" if status.get("signal") else f"exit {status['code']}")
        elif event["event"] == "reap":
            notes.setdefault(pid, []).append(f"reaped by {event.get('by_role')}")
    for snap in result["snapshots"]:
        for row in snap["processes"]:
            if row["state"] == "Z":
                note = f"zombie at {snap['checkpoint']}"
                if note not in notes.setdefault(row["pid"], []):
                    notes[row["pid"]].append(note)
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        if pid != reaper:
            children.setdefault(ppid, []).append(pid)

    lines: list[str] = []

    def label(pid: int) -> str:
        text = names.get(pid) or str(pid)
        if pid == reaper:
            return f"{text}  {RUNNER_DISPLAY}"
        extra = " · ".join(notes.get(pid, []))
        return f"{text}  {command.get(pid, '')}".rstrip() + (f" · {extra}" if extra else "")

    def walk(pid: int, prefix: str) -> None:
        kids = sorted(children.get(pid, []), key=lambda kid: role_order(names.get(kid), kid))
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label(kid)}")
            walk(kid, prefix + ("    " if last else "│   "))

    if reaper is not None:
        lines.append(label(reaper))
        walk(reaper, "")
    return lines


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("forklab", "templates"),
                      autoescape=select_autoescape(["html", "html.j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(fence=fence, cell=cell, mib=mib, mib_bytes=mib_bytes)
    env.globals.update(display_rows=display_rows, process_tree=process_tree,
                       snapshot_filename=snapshot_filename, key_snapshot=key_snapshot,
                       file_prefix=file_prefix, describe_settings=describe_settings,
                       exits_seen=exits_seen)
    return env


# -- the files ---------------------------------------------------------------------

def runs_of(result: dict) -> list[dict]:
    """The runs a report shows: every variant, or the one run."""
    return result.get("variants") or [result]


def file_prefix(result: dict, run: dict) -> str:
    """Files of a variant carry its name: ``tty.stdout.log``."""
    return f"{run['variant']['name']}." if result.get("variants") else ""


def describe_settings(settings: dict) -> str:
    """How a run was set up, in words."""
    stdout = {"pipe": "stdout is a pipe", "tty": "stdout is a terminal (pty)",
              "tty-session": "stdout is the controlling terminal of main's session"}[settings["stdout"]]
    after = ("when main exits, every other process is killed (as in a container)"
             if settings["descendants"] == "kill" else "the runner waits until every descendant has ended")
    parts = [stdout, after]
    if not settings["reaper"]:
        parts.append("PID 1 never reaps adopted orphans")
    if settings["unbuffered"]:
        parts.append("PYTHONUNBUFFERED=1")
    return "; ".join(parts)


def role_order(role: Optional[str], pid: int = 0) -> tuple:
    """Sort roles as people count: main.2 before main.10; unnamed last."""
    if role is None:
        return (2, (), pid)
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.]", role))
    return (0 if role.startswith("main") else 1, parts, pid)


def exits_seen(run: dict) -> list[str]:
    """'role: exit 0' for every exit the runner saw, in role order."""
    exits = []
    for event in run["events"]:
        if event["event"] == "exit":
            status = event["status"]
            how = f"killed by {status['signal_name']}" if status.get("signal") else f"exit {status['code']}"
            exits.append((role_order(event["role"], event["pid"]), f"{event['role']}: {how}"))
    return [text for _, text in sorted(exits)]


def render(result: dict, outputs: list[dict[str, bytes]]) -> dict[str, bytes]:
    """Every file of one lab's report, by name."""
    env = _environment()
    runs = runs_of(result)
    context = {"r": result, "runs": runs, "has_variants": bool(result.get("variants"))}
    files = {
        "report.md": env.get_template("report.md.j2").render(context).encode("utf-8"),
        "report.html": env.get_template("report.html.j2").render(context).encode("utf-8"),
        "result.json": (json.dumps(result, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        "stdout.log": outputs[0].get("stdout", b""),
        "stderr.log": outputs[0].get("stderr", b""),
    }
    for run, output in zip(runs, outputs):
        prefix = file_prefix(result, run)
        if prefix:
            files[f"{prefix}stdout.log"] = output.get("stdout", b"")
            files[f"{prefix}stderr.log"] = output.get("stderr", b"")
        for index, snap in enumerate(run["snapshots"], start=1):
            files[prefix + snapshot_filename(index, snap["checkpoint"])] = snap["ps"].encode("utf-8")
    return files


def key_snapshot(run: dict) -> Optional[dict]:
    name = run["lab"].get("key_checkpoint")
    return next((s for s in run["snapshots"] if s["checkpoint"] == name), None)


def write_report(folder: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` as ``folder``, replacing what was there only once all are on disk."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    fresh = folder.parent / f".{folder.name}.new-{token}"
    old = folder.parent / f".{folder.name}.old-{token}"
    fresh.mkdir()
    try:
        for name, data in files.items():
            with open(fresh / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
    except BaseException:
        # Put the previous report back if it was moved aside, and drop the new one.
        if old.exists() and not folder.exists():
            old.rename(folder)
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return folder
