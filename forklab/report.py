"""Renders a result document into the report files, and writes them atomically.

``reports/lab-NN/`` holds report.md, report.html, result.json, stdout.log,
stderr.log and one raw ``ps`` text file per snapshot.  The files are written
into a fresh folder beside the old one and swapped in at the end, so a failed
or interrupted run never leaves half a report or destroys the previous one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from markupsafe import Markup, escape

from forklab import i18n, normalize, orders, pictures
from forklab.repeat import bar, normalized_output, svg_bars
from forklab.settings import cache_dir

if TYPE_CHECKING:
    from jinja2 import Environment

#: English words, for helpers called without a language.
_ENGLISH = i18n.translator(i18n.DEFAULT)

# -- helpers the templates use --------------------------------------------------

def fence(text: str, info: str = "text") -> str:
    """A Markdown code block that no backtick run inside ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{ticks}{info}\n{body}{ticks}"


def sentence(text: str) -> str:
    """The first letter made upper case, the rest kept (Jinja's capitalize would make "PID 1" "pid 1")."""
    return text[:1].upper() + text[1:]


_BACKTICKS = re.compile(r"`+")
# An ampersand that would start a character reference (&lt; or &#x202e;): a
# lab could spell a bidi override that way and have the renderer make it.
_REFERENCE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def _markdown_plain(text: str, table: bool) -> str:
    text = text.replace("\\", "\\\\")
    if table:
        text = text.replace("|", "\\|")
    # GitHub drops what looks like an HTML tag (<defunct>, <built-in function getpid>).
    return _REFERENCE.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def _markdown_text(value: object, table: bool) -> str:
    """Text shown as itself on one Markdown line: no tag, character reference or
    stray backtick in it is interpreted; code spans written in it stay code."""
    text = " ".join(normalize.visible("" if value is None else str(value)).split())
    out, at = [], 0
    while True:
        opening = _BACKTICKS.search(text, at)
        if opening is None:
            break
        out.append(_markdown_plain(text[at:opening.start()], table))
        ticks = opening.group()
        closing = re.compile(f"(?<!`){ticks}(?!`)").search(text, opening.end())
        if closing:
            span = text[opening.start():closing.end()]
            # Inside a code span nothing is interpreted but a table's pipe.
            out.append(span.replace("|", "\\|") if table else span)
            at = closing.end()
        else:
            out.append("\\`" * len(ticks))  # one that never closes would swallow the rest of the line
            at = opening.end()
    out.append(_markdown_plain(text[at:], table))
    return "".join(out)


def cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    return _markdown_text(value, table=True)


def inline(value: object) -> str:
    """Text safe on a Markdown line outside a table (a heading, a list item)."""
    return _markdown_text(value, table=False)


def code(value: object) -> str:
    """A name (a checkpoint's, a variant's) as an inline code span that no backtick in it can end."""
    text = normalize.one_line("" if value is None else str(value))
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    # A code span loses one space at each end when it has one at both, so a
    # name that starts or ends with a backtick or a space is padded.
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


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


def _tree(run: dict) -> tuple[dict[int, int], dict[int, Optional[int]]]:
    """What a run's snapshots are sorted and annotated by: the fork tree's order, and who forked whom."""
    # Who forked whom: when PID 1 is the lab's main (the runner stepped aside),
    # its own children have PID 1 as parent without having been adopted.
    return pictures.tree_order(run), {e["pid"]: e.get("ppid") for e in run["events"] if e["event"] == "fork"}


def snapshot_rows(run: dict, snapshot: dict, tree: Optional[tuple] = None,
                  words: i18n.Translate = _ENGLISH, fd_names: Optional[dict] = None) -> list[dict]:
    """A snapshot's rows as a student reads them: roles, a parent, what is special,
    in the order of the fork tree (the same in every run).  ``tree`` is ``_tree(run)``, if known,
    and ``fd_names`` ``normalize.fd_names(run)``.

    ``notes`` are English words (zombie, adopted; the HTML's row classes);
    ``words`` translates the parent of a process outside the lab."""
    reaper = run["roles"].get("reaper")
    main = run["roles"].get("main")
    order, forked_by = tree or _tree(run)
    runner_command = pictures.reaper_command(run)
    if fd_names is None and any("fds" in row for row in snapshot["processes"]):
        fd_names = normalize.fd_names(run)
    rows = []
    for row in sorted(snapshot["processes"],
                      key=lambda r: (order.get(r["pid"], len(order)), pictures.role_order(r["role"], r["pid"]))):
        notes = []
        if row["state"] == "Z":
            notes.append("zombie")
        # Adopted: its parent is not the process that forked it (PID 1, a subreaper,
        # whoever took it in); with no fork seen, only PID 1 (the reaper) can say so.
        forker = forked_by.get(row["pid"])
        if row["pid"] not in (main, reaper) and (
                row["ppid"] != forker if forker is not None else row["ppid"] == reaper):
            notes.append("adopted")
        command = runner_command if row["pid"] == reaper and runner_command else row["command"]
        rows.append({"role": row["role"], "pid": row["pid"], "ppid": row["ppid"],
                     "parent": row["parent_role"] or ("-" if row["ppid"] == 0 else words("(outside the lab)")),
                     "state": row["state"], "command": command, "memory": mib(row["rss_kb"]),
                     "private": mib(row.get("private_kb")), "notes": notes, "key": bool(notes),
                     "group": _group_of(row, snapshot, words), "fds": _fds_of(row, fd_names or {}, words)})
    return rows


def snapshot_columns(run: dict) -> list[str]:
    """What a run's snapshot tables show besides role, parent, state and command: each
    process's group (``group``) when the run checks groups (pgid), and what each holds
    open (``fds``) when it checks that."""
    kinds = {check.get("check") for check in run.get("checks", [])}
    return [column for column, kind in (("group", "pgid"), ("fds", "fds")) if kind in kinds]


def _group_of(row: dict, snapshot: dict, words: i18n.Translate) -> str:
    """A row's process group, by the role of its leader (the process whose pid is the group's id)."""
    leader = next((r for r in snapshot["processes"] if r["pid"] == row.get("pgid")), None)
    if leader is None:
        return words("(its leader is not in the table)")
    return leader.get("role") or str(leader["pid"])


def _fds_of(row: dict, names: dict[str, str], words: i18n.Translate) -> str:
    """What a row holds open, pipes named after roles: ``0 /dev/null (r), 1 pipe:[main:1] (w)``."""
    fds = row.get("fds")
    if fds is None:
        return "-"
    text = ", ".join(normalize.fd_text(fd, names) for fd in fds)
    if row.get("fds_more"):
        text += words(" and {count} more", count=row["fds_more"])
    return text


def traceback_of(run: dict) -> str:
    """The traceback main exited with (normalize.main_traceback), pids shown as roles where
    lab.yaml's pid_patterns say the output prints them; "" when main exited with 0 or without one."""
    text = normalize.main_traceback(run)
    return normalize.output(text, run["lab"].get("pid_patterns", []), normalize.pid_names(run)) if text else ""


def main_exit_sentence(run: dict, _: i18n.Translate = _ENGLISH) -> str:
    """'the lab's main process exited with code 1' (or, for `invoke run`, the script)."""
    code = (run.get("exit") or {}).get("code")
    if run["lab"].get("kind") == "run":
        return _("the script exited with code {code}", code=code)
    return _("the lab's main process exited with code {code}", code=code)


def text_bars(rows: list[dict], total: int) -> str:
    """A text bar chart: one line per row, count and text."""
    return "\n".join(f"{bar(row['count'], total)} {row['count']:>4}  {row['text']}" for row in rows)


def _svg_bars(rows: list[dict], total: int) -> str:
    return svg_bars(rows, total)


def _bytecode_cache():
    """Compiled templates kept in the user's cache folder: compiling them costs more than a lab run's rendering."""
    from jinja2 import FileSystemBytecodeCache

    folder = cache_dir("templates")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: compile every time
    # The compiled code depends on the environment's settings (finalize, below),
    # which the cache's key leaves out: the name keeps code compiled without it
    # (an earlier forklab's) from being loaded.
    return FileSystemBytecodeCache(str(folder), pattern="__jinja2_%s.shown.cache")


def code_spans(text: str) -> Markup:
    """A fixed sentence for HTML: escaped, and each `code span` in it made <code>."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _shown(value: object) -> object:
    """What every ``{{ ... }}`` in a template prints: text with its controls written out.

    This is the one place the report files (Markdown and HTML) make text
    visible; ``visible`` leaves text it already made visible as it is, so values
    a filter (cell, code) or a picture has handled pass unchanged.
    """
    if isinstance(value, Markup):
        return Markup(normalize.visible(str(value)))
    if isinstance(value, str):
        return normalize.visible(value)
    return value


#: One environment per language for the whole process: its templates are loaded and
#: compiled once (`invoke labs` renders many reports).  Rendering does not change it:
#: what differs between reports goes in the render's context, so threads may share it.
_ENVIRONMENTS: dict = {}
_ENVIRONMENTS_LOCK = threading.Lock()
#: The templates a lab's report renders (and those they include), and the index's.
REPORT_TEMPLATES = ("normalized.md.j2", "report.md.j2", "report.html.j2", "index.md.j2", "index.html.j2")


def template_environment(lang: str = i18n.DEFAULT) -> Environment:
    """The report templates' environment, its words in ``lang``: ``_("English", **values)`` in a template.

    Made once per language; the same one is returned after that.
    """
    with _ENVIRONMENTS_LOCK:
        env = _ENVIRONMENTS.get(lang)
        if env is None:
            env = _ENVIRONMENTS[lang] = _new_environment(lang)
    return env


def prepare(langs: tuple = ()) -> None:
    """Make the environments of ``langs`` (every language when none) and compile the report's
    templates, so that the first render only renders.  Meant for a moment the host waits anyway."""
    for lang in langs or i18n.LANGS:
        env = template_environment(lang)
        for name in REPORT_TEMPLATES:
            env.get_template(name)


def _new_environment(lang: str) -> Environment:
    # Jinja2 is imported here, not with the module: `invoke lab` imports this module before
    # its container starts, and loads Jinja2 while the container runs (prepare()).
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    _ = i18n.translator(lang)
    env = Environment(loader=PackageLoader("forklab", "templates"), bytecode_cache=_bytecode_cache(),
                      autoescape=select_autoescape(["html", "html.j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=_shown)
    env.filters.update(fence=fence, cell=cell, inline=inline, code=code, mib=mib, mib_bytes=mib_bytes,
                       visible=normalize.visible, one_line=normalize.one_line, sentence=sentence,
                       code_spans=code_spans)

    def stop_in_words(run: dict) -> str:
        return stop_sentence(run, _)

    # A word that is a value: {{ p.notes | map("tr") }}; how a run was stopped: {{ runs | map("stop_sentence") }}.
    env.filters.update(tr=_, stop_sentence=stop_in_words)
    env.globals.update(snapshot_rows=lambda run, snapshot: snapshot_rows(run, snapshot, words=_),
                       snapshot_columns=snapshot_columns, traceback_of=traceback_of,
                       main_exit_sentence=lambda run: main_exit_sentence(run, _),
                       normalized_output=normalized_output,
                       snapshot_filename=snapshot_filename, key_snapshot=key_snapshot,
                       file_prefix=file_prefix, describe_settings=lambda settings: describe_settings(settings, _),
                       exits_seen=lambda run: exits_seen(run, _), stop_sentence=stop_in_words,
                       limits_text=lambda box: limits_text(box, _), _=_, lang=_.lang,
                       text_tree=lambda run: pictures.text_tree(run, _.lang),
                       mermaid_tree=lambda run: pictures.mermaid_tree(run, _.lang),
                       mermaid_timeline=pictures.mermaid_timeline,
                       svg_tree=lambda run: pictures.svg_tree(run, _.lang), svg_timeline=pictures.svg_timeline,
                       bars=text_bars, svg_bars=_svg_bars, possible_outputs=orders.for_report,
                       writers_of=lambda run: orders.writers_of(run.get("orders") or {}, run["stdout"]))
    return env


# -- the files ---------------------------------------------------------------------

def runs_of(result: dict) -> list[dict]:
    """The runs a report shows: every variant, or the one run."""
    return result.get("variants") or [result]


def file_prefix(result: dict, run: dict) -> str:
    """Files of a variant carry its name: ``tty.stdout.log``."""
    return f"{run['variant']['name']}." if result.get("variants") else ""


def describe_settings(settings: dict, _: i18n.Translate = _ENGLISH) -> str:
    """How a run was set up, in words."""
    pid1 = settings.get("pid1", "runner")
    separator = _("; ")
    if pid1 != "runner":
        who = (_("PID 1 is the lab's own python (python3 lab.py), as in `docker run IMAGE python3 lab.py`")
               if pid1 == "lab" else
               _("PID 1 is the engine's init, as in `docker run --init` (Docker's docker-init, which is tini; "
                 "Podman's catatonit), and the lab's python (python3 lab.py) is its child"))
        grace = settings.get("stop_timeout") or 2
        parts = [_("the runner stepped aside: {who}", who=who),
                 _("the host watched from outside through the engine: a snapshot with `docker exec ps` and /proc "
                   "at each checkpoint, forks as the lab's fork hook reported them on stderr"),
                 _("who reaped whom, and every exit status but main's, cannot be seen from outside"),
                 _("when the lab was over, main held at its exit and the host stopped the container "
                   "with `docker stop -t {grace}`", grace=grace)]
        if settings["unbuffered"]:
            parts.append("PYTHONUNBUFFERED=1")
        return separator.join(parts)
    stdout = {"pipe": _("stdout is a pipe"), "tty": _("stdout is a terminal (pty)"),
              "tty-session": _("stdout is the controlling terminal of main's session")}[settings["stdout"]]
    after = (_("when main exits, every other process is killed (as in a container)")
             if settings["descendants"] == "kill" else _("the runner waits until every descendant has ended"))
    parts = [stdout, after]
    if not settings["reaper"]:
        parts.append(_("PID 1 never reaps adopted orphans"))
    if settings["unbuffered"]:
        parts.append("PYTHONUNBUFFERED=1")
    return separator.join(parts)


def limits_text(box: dict, _: i18n.Translate = _ENGLISH) -> str:
    """The container's limits as read inside it, in one line: pids, memory, time, where it may write, core files."""
    limits = box.get("limits") or {}
    unlimited = _("unlimited")
    parts = [_("pids {pids}", pids=limits["pids"] if limits.get("pids") is not None else unlimited),
             _("memory {memory}", memory=mib_bytes(limits["memory_bytes"]) if limits.get("memory_bytes")
               else unlimited),
             _("time {seconds} s", seconds=limits.get("timeout_s", "?"))]
    writable = limits.get("writable_bytes") or {}
    if writable:
        places = ", ".join(f"{path} {mib_bytes(size)}" for path, size in writable.items() if size is not None)
        parts.append(_("writable {places}; the rest read-only", places=places) if box.get("read_only_root")
                     else _("writable {places}", places=places))
    if "core_bytes" in limits:
        parts.append(_("core files off (RLIMIT_CORE 0)") if limits["core_bytes"] == 0 else
                     _("core files up to {size}", size=mib_bytes(limits["core_bytes"])) if limits["core_bytes"] else
                     _("core files unlimited"))
    return _(", ").join(parts)


def stop_sentence(run: dict, _: i18n.Translate = _ENGLISH) -> str:
    """How `docker stop` ended the run, in words that are the same in every run (no times); "" if not stopped."""
    stop = run.get("stop")
    if not stop:
        return ""
    values = {"command": f"`docker stop -t {stop['timeout_s']}`", "grace": stop["timeout_s"],
              "code": stop["exit_code"]}
    if stop["signal"] == "SIGKILL":
        return _("{command}: SIGTERM did not end it; stopped by SIGKILL after the {grace} s grace period "
                 "(exit {code})", **values)
    if stop["signal"] == "SIGTERM":
        return _("{command}: stopped by SIGTERM, within the grace period (exit {code})", **values)
    return _("{command}: the container ended with exit {code}", **values)


def exits_seen(run: dict, _: i18n.Translate = _ENGLISH) -> list[str]:
    """'role: exit 0' for every exit the runner saw, in role order."""
    exits = []
    for event in run["events"]:
        if event["event"] == "exit":
            status = event["status"]
            how = (_("killed by {signal}", signal=status["signal_name"]) if status.get("signal")
                   else _("exit {code}", code=status["code"]))
            exits.append((pictures.role_order(event["role"], event["pid"]), f"{event['role']}: {how}"))
    return [text for _order, text in sorted(exits)]


def render(result: dict, outputs: list[dict[str, bytes]]) -> dict[str, bytes]:
    """Every file of one lab's report, by name, in the language the result records (environment.lang)."""
    env = template_environment(i18n.of(result))
    words = env.globals["_"]
    runs = runs_of(result)
    # A run's fork tree is worked out once for all its snapshots: once per
    # snapshot made a run with many snapshots quadratic.  (The runs stay in
    # ``result`` while it renders, so their ids stay theirs.)
    trees: dict[int, tuple] = {}
    fd_names: dict[int, dict] = {}  # the same for what the runs hold open

    def rows(run: dict, snapshot: dict) -> list[dict]:
        if id(run) not in trees:
            trees[id(run)] = _tree(run)
            fd_names[id(run)] = normalize.fd_names(run)
        return snapshot_rows(run, snapshot, trees[id(run)], words, fd_names[id(run)])  # type: ignore[arg-type]  # the environment's translator

    # In the context, not the environment's globals: the environment is shared.
    context = {"r": result, "runs": runs, "has_variants": bool(result.get("variants")), "snapshot_rows": rows}
    files = {
        "normalized.md": env.get_template("normalized.md.j2").render(context).encode("utf-8"),
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


@contextlib.contextmanager
def uninterrupted():
    """Hold Ctrl-C and SIGTERM for a few milliseconds while files are swapped.

    They are delivered right after, so the swap is never left half done.  (On
    Windows there are no signal masks; the swap is two renames there too.)
    """
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_file(path: Path, data: bytes) -> Path:
    """Write one file whole: a reader sees the old file or the new one, never half of
    either, and Ctrl-C waits for the rename (the index, a gradebook, a zip, the schema)."""
    fresh = path.with_name(f".{path.name}.new-{uuid.uuid4().hex[:8]}")
    try:
        with open(fresh, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with uninterrupted():
            os.replace(fresh, path)
    finally:
        if fresh.exists():
            fresh.unlink()
    return path


def write_report(folder: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` as ``folder``, replacing what was there only once all are on disk."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    fresh = folder.parent / f".{folder.name}.new-{token}"
    old = folder.parent / f".{folder.name}.old-{token}"
    try:
        fresh.mkdir()
        for name, data in files.items():
            target = fresh / name
            if target.parent != fresh:  # a name with folders in it (invoke handout's tree)
                target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    with uninterrupted():
        try:
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
