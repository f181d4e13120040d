"""What the terminal shows: short notices, build progress, and a lab's summary.

Notices and progress go to stderr so stdout stays a clean summary.  On a
terminal lines fit its width (wrapped under their own indent, a tree's lines
cut with …) and long work shows a progress bar; piped into a file or a CI log
nothing is cut and nothing moves.  No line ends in spaces.
"""

from __future__ import annotations

import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table
from rich.text import Text

from forklab import i18n
from forklab.normalize import main_traceback, one_line, visible
from forklab.pictures import text_tree
from forklab.report import snapshot_rows

#: The terminal shows this much of a tree; the report has all of it.
TREE_LINES = 20

#: How many of the last stderr lines a crash shows in the terminal (half as many of stdout).
TAIL_LINES = 6

#: The build's step headers, as Docker writes them: "Step 3/12 : RUN ...".
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def shown(text: object) -> str:
    """A name, a command or a sentence from a run, as the terminal prints it: on one
    line, its control characters written out (never executed), Rich's markup escaped."""
    return escape(one_line("" if text is None else str(text)))


def relative(path: Path) -> Path:
    """``path`` from the current folder when it is under it (reports/lab-03/report.md)."""
    try:
        return Path(path).relative_to(Path.cwd())
    except ValueError:
        return Path(path)


class Terminal:
    def __init__(self, lang: str = i18n.DEFAULT, verbose: bool = False, width: Optional[int] = None) -> None:
        #: The words of the summary, in ``lang`` (en or zh); a run's own names and output stay as they are.
        self._ = i18n.translator(lang)
        self.lang = self._.lang
        #: Every check of a lab, not only the failed ones.
        self.verbose = verbose
        # A Windows console in cp1252 or cp936 cannot show every character the
        # labs print (Chinese, ✓): show a ? instead of crashing.
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")
        self.out = Console(highlight=False, soft_wrap=True, width=width)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        #: Lines are made to fit the width: on a terminal, or when a width is given (tests).
        self.fit = width is not None or self.out.is_terminal
        for console in (self.out, self.err):
            # Piped into a file or grep, nothing should be cut to fit 80 columns.
            if not console.is_terminal and not (console is self.out and width):
                console.width = 200
        self._status: Optional[Status] = None
        self._build_started = 0.0

    # -- lines that fit -------------------------------------------------------------------

    def line(self, markup: str = "", crop: bool = False) -> None:
        """One line of the summary.  Where lines fit the width, a long one wraps under its own
        indent (or, with ``crop``, is cut with …); no line ends in spaces."""
        text = Text.from_markup(markup)
        if not self.fit:
            text.rstrip()
            self.out.print(text, soft_wrap=True)
            return
        indent = len(text.plain) - len(text.plain.lstrip(" "))
        text = text[indent:]
        # A ✓ or ✗ line goes on under its words, not under its mark.
        hang = indent + (2 if text.plain[:2] in ("✓ ", "✗ ") else 0)
        if crop:
            text.truncate(max(10, self.out.width - indent), overflow="ellipsis")
            lines = [text]
        else:
            lines = text.wrap(self.out, max(10, self.out.width - hang), overflow="fold")  # type: ignore[assignment]  # rich's Lines is a list of Text
        for number, piece in enumerate(lines):
            piece.rstrip()
            self.out.print(Text(" " * (indent if number == 0 else hang)) + piece, soft_wrap=True)

    def table(self, table: Table, console: Optional[Console] = None) -> None:
        """A Rich table without the spaces Rich pads its last column with."""
        console = console or self.out
        for row in console.render_lines(table, console.options, pad=False):
            text = Text()
            for segment in row:
                if not segment.control:
                    text.append(segment.text, segment.style)
            text.rstrip()
            console.print(text, soft_wrap=True)

    # -- notices and progress -------------------------------------------------------------

    def say(self, text: str) -> None:
        self.err.print(f"[dim]{escape(text)}[/dim]")

    def progress(self, line: str) -> None:
        """A line of the image build's log.  On a terminal a spinner shows the current step
        ("step 3 of 12: RUN ..."); elsewhere nothing: the build's own log is for `docker build`."""
        match = _STEP.match(line)
        if match is None or not self.err.is_terminal:
            return
        step = self._("building the image: step {step} of {steps}: {what}", step=match[1], steps=match[2],
                      what=one_line(match[3]))
        width = max(20, self.err.width - 4)
        step = step if len(step) <= width else step[:width - 1] + "…"
        if self._status is None:
            self._build_started = time.monotonic()
            self._status = self.err.status(escape(step))
            self._status.start()
        else:
            self._status.update(escape(step))

    def build_finished(self, tag: str, built: bool) -> None:
        """The end of a build the spinner showed: one line in its place."""
        if self._status is None:
            return
        self._status.stop()
        self._status = None
        if built:
            self.say(self._("built {tag} in {seconds:.0f} s", tag=tag,
                            seconds=time.monotonic() - self._build_started))

    @contextmanager
    def working(self, total: int, what: str) -> Iterator[Callable[[], None]]:
        """A progress bar over ``total`` pieces of work (``advance()`` after each), on a terminal
        only: a CI log gets the one line each piece says when it is done, and nothing else."""
        if not self.err.is_terminal or total < 1:
            yield lambda: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=self.err, transient=True)
        with progress:
            task = progress.add_task(escape(what), total=total)
            yield lambda: progress.advance(task)

    def possible_outputs(self, run: dict) -> None:
        """One line: how many outputs the program can print, and which one this run printed."""
        from forklab import orders

        _ = self._
        view = orders.for_report(run)
        if view is None:
            return
        if view["count"] is None:
            self.line("  " + _("every possible output: not counted ({reason})",
                                    reason=shown("; ".join(view["problems"]))))
        elif view["observed"] is not None:
            self.line("  " + _("every possible output: {count}; this run printed number {number} "
                                    "(the report lists them)", count=view["count"], number=view["observed"] + 1))
        else:
            self.line("  " + _("every possible output: {count}", count=view["count"]))

    def lab_summary(self, result: dict, folder: Path) -> None:
        _ = self._
        lab = result["lab"]
        heading = (_("Run · {title}", title=lab["title"]) if lab.get("kind") == "run"
                   else _("Lab {number:02d} · {title}", number=lab["number"], title=lab["title"]))
        self.line(f"[bold]{shown(heading)}[/bold]")
        # A main that exited with a code other than 0: its traceback first, the cause before the symptoms.
        for run in result.get("variants") or [result]:
            traceback = main_traceback(run)
            if not traceback:
                continue
            code = (run.get("exit") or {}).get("code")
            how = (_("the script exited with code {code}", code=code) if lab.get("kind") == "run"
                   else _("the lab's main process exited with code {code}", code=code))
            which = f" ({shown(run['variant']['name'])})" if result.get("variants") else ""
            self.line(f"  [red]{how}{which}[/red]" + _(":"))
            for line in traceback.rstrip("\n").split("\n"):
                self.line(f"    [red]{escape(visible(line))}[/red]")
        if result.get("predictions"):
            right = sum(1 for p in result["predictions"] if p["right"])
            self.line("  " + _("your predictions: {right} of {total} right",
                                    right=right, total=len(result["predictions"])))
            for p in result["predictions"]:
                mark = "[green]✓[/green]" if p["right"] else "[red]✗[/red]"
                self.line(f"  {mark} " + _("{question} you said {predicted}; the run shows {observed}",
                                                question=shown(p["ask"]),
                                                predicted=shown(p["predicted"] or _("(nothing)")),
                                                observed=shown(p["observed"])))
                if p.get("why"):
                    self.line("      " + shown(p["why"]))
        if result.get("repeat"):
            self.repeat_summary(result["repeat"])
        else:
            self.checks(result["checks"])
        if lab.get("kind") == "run" and not result.get("repeat"):
            self.possible_outputs(result)
        key = next((s for s in result["snapshots"] if s["checkpoint"] == lab.get("key_checkpoint")), None)
        if key is not None:
            table = Table(title=_("snapshot '{name}'", name=shown(key["checkpoint"])), title_justify="left",
                          show_edge=False, box=None, pad_edge=False)
            for column in (_("role"), _("parent"), _("state"), _("command")):
                table.add_column(column)
            for row in snapshot_rows(result, key, words=_):
                notes = ", ".join(_(note) for note in row["notes"])
                state = row["state"] + (f" ({notes})" if notes else "")
                style = "yellow" if row["notes"] else None
                table.add_row(shown(row["role"]), shown(row["parent"]), shown(state),
                              shown(row["command"]), style=style)
            self.table(table)
        else:
            # No snapshot to show: the tree of who forked whom is the key moment.
            lines = text_tree(result, _.lang)
            for line in lines[:TREE_LINES]:
                self.line(f"  {escape(line)}", crop=True)  # text_tree writes every line out visibly
            if len(lines) > TREE_LINES:
                self.line("  " + _("... and {count} more processes: see the report", count=len(lines) - TREE_LINES))
        limits = (result["environment"].get("container") or {}).get("limits") or {}
        peak = result.get("peak_processes")
        if peak and limits.get("pids") and peak >= limits["pids"]:
            self.line("  [yellow]" + _("the pids limit was reached: {peak} processes at once (limit {limit}); "
                                            "fork() then fails with EAGAIN", peak=peak, limit=limits["pids"])
                           + "[/yellow]")
        if result.get("oom_kills"):
            self.line("  [yellow]" + _("{count} process(es) OOM-killed (memory limit {mib} MiB)",
                                            count=result["oom_kills"],
                                            mib=limits.get("memory_bytes", 0) // 2**20) + "[/yellow]")
        for name in ("stdout", "stderr"):
            if result["truncated"].get(name):
                self.line("  [yellow]" + _("{name} was cut: {count} bytes dropped", name=name,
                                                count=result["truncated"][name]) + "[/yellow]")
        for warning in result["warnings"]:
            self.line(f"  [yellow]{shown(warning)}[/yellow]")
        status = result.get("exit") or {}
        if status and (status.get("signal") or status.get("code")) and result["status"] != "passed":
            # A crash needs its cause at hand: how main ended, then the end of what it printed.
            script = lab.get("kind") == "run"
            if status.get("signal"):
                how = (_("the script was killed by {signal}", signal=status["signal_name"]) if script
                       else _("the lab's main process was killed by {signal}", signal=status["signal_name"]))
            else:
                how = (_("the script exited with code {code}", code=status.get("code")) if script
                       else _("the lab's main process exited with code {code}", code=status.get("code")))
            self.line(f"  [red]{how}[/red]")
            for name, count in (("stdout", TAIL_LINES // 2), ("stderr", TAIL_LINES)):
                if name == "stderr" and main_traceback(result):
                    continue  # shown first
                lines = result[name].rstrip("\n").splitlines()[-count:]
                if lines:
                    self.line("  [dim]" + _("last lines of {name}:", name=name) + "[/dim]")
                    for line in lines:
                        self.line(f"    {escape(visible(line))}")
        if result["runner"]["status"] not in ("finished", "timeout") and result["runner"].get("error"):
            last = result["runner"]["error"].strip().splitlines()[-1]
            self.line("  [red]" + _("the runner failed: {line}", line=shown(last)) + "[/red]")
        self.line(self.status_line(result, folder))

    def status_line(self, result: dict, folder: Path) -> str:
        """The last line: the status, how many predictions were right (when there were some), the report."""
        _ = self._
        colour = "green" if result["status"] == "passed" else "red"
        parts = [f"[{colour}]{_(result['status'])}[/{colour}]"]
        predictions = result.get("predictions") or []
        if predictions:
            right = sum(1 for p in predictions if p["right"])
            colour = "green" if right == len(predictions) else "red"
            parts.append(f"[{colour}]" + _("{right} of {total} predictions right", right=right,
                                           total=len(predictions)) + f"[/{colour}]")
        parts.append(_("report: {path}", path=escape(str(relative(folder / "report.md")))))
        return " · ".join(parts)

    def checks(self, checks: list) -> None:
        """A lab's checks: a count and each failed one with its detail; every one with --verbose."""
        _ = self._
        passed = sum(1 for check in checks if check["passed"])
        if not self.verbose:
            colour = "green" if passed == len(checks) else "red"
            mark = "✓" if passed == len(checks) else "✗"
            self.line(f"  [{colour}]{mark}[/{colour}] " + _("{passed} of {total} checks passed", passed=passed,
                                                             total=len(checks)))
        for check in checks:
            if check["passed"] and not self.verbose:
                continue
            mark = "[green]✓[/green]" if check["passed"] else "[red]✗[/red]"
            self.line(f"  {mark} {shown(check['name'])}")
            if not check["passed"]:
                self.line(f"      [red]{shown(check['detail'])}[/red]")

    def check_summary(self, result: dict, folder: Path) -> None:
        """`invoke check`: each check ✓ or ✗ with what was expected and seen and the hint for a
        failed one, the hidden checks as a count, the score, and why a run went wrong."""
        _ = self._
        lab, graded = result["lab"], result["check"]
        self.line("[bold]" + shown(_("Check · exercise {number:02d} · {title} · {file}", number=lab["number"],
                                          title=lab["title"], file=graded["submission"])) + "[/bold]")
        for check in result["checks"]:
            if check.get("hidden"):
                continue
            mark = "[green]✓[/green]" if check["passed"] else "[red]✗[/red]"
            worth = _("({points} points)", points=check["points"]) if check["points"] != 1 else ""
            self.line(f"  {mark} {shown(check['name'])}" + (f" [dim]{worth}[/dim]" if worth else ""))
            if not check["passed"]:
                self.line(f"      [red]{shown(check['detail'])}[/red]")
                if check.get("hint"):
                    self.line("      [yellow]" + shown(_("hint: {hint}", hint=check["hint"])) + "[/yellow]")
        hidden = graded["hidden"]
        if hidden["total"]:
            colour = "green" if hidden["passed"] == hidden["total"] else "red"
            self.line(f"  [{colour}]" + _("hidden checks: {passed} of {total} passed", **hidden)
                           + f"[/{colour}]")
        if graded["reason"]:
            self.line("  [red]" + shown(graded["reason"]) + "[/red]"
                           + ("" if graded["counted"] else " " + _("(so no check counts)")))
        score = result["score"]
        colour = "green" if score["earned"] == score["total"] else "red"
        report = relative(folder / "report.md")
        self.line(f"[{colour}]" + _("score: {earned} of {total} points", **score) + f"[/{colour}] · "
                  + _("report: {path}", path=escape(str(report))))

    def repeat_summary(self, rep: dict) -> None:
        from forklab.repeat import bar

        _ = self._
        self.line("  " + (_("repeated {count} times, chaos seed {seed}", count=rep["count"],
                                 seed=rep["chaos"]["seed"]) if rep.get("chaos")
                               else _("repeated {count} times", count=rep["count"])))
        for variant in rep["variants"]:
            if len(rep["variants"]) > 1:
                self.line(f"  [bold]{shown(variant['variant'])}[/bold]")
            for check in variant["checks"]:
                colour = "green" if check["passed"] == variant["runs"] else "red"
                self.line(f"  [{colour}]" + _("{passed:>4} of {runs}", passed=check["passed"],
                                                   runs=variant["runs"]) + f"[/{colour}]  {shown(check['name'])}")
            self.line("  " + _("first line:"))
            for row in variant["first_lines"]:
                self.line(f"    {bar(row['count'], variant['runs'], 20)} {row['count']:>4}  "
                               f"{escape(visible(row['text']))}")
            self.line("  " + _("{outputs} distinct output(s), {trees} distinct process tree(s)",
                                    outputs=len(variant["outputs"]), trees=len(variant["trees"])))

    def doctor(self, rows: list) -> None:
        """`invoke doctor`'s findings: ✓ or ✗, and the fix under each problem."""
        for what, finding, fix in rows:
            mark = "[red]✗[/red]" if fix else "[green]✓[/green]"
            self.out.print(f"{mark} {what}: {escape(finding)}" + (f"\n    fix: {escape(fix)}" if fix else ""))

    def labs_summary(self, rows: list, seconds: float, reports: Optional[Path] = None,
                     index: Optional[Path] = None) -> None:
        """The table at the end of `invoke labs` and `invoke report`, the totals, where the reports are."""
        _ = self._
        table = Table(box=None, pad_edge=False)
        # At the console's width the title wraps; the other columns never shrink.
        for column in (_("lab"), _("title"), _("status"), _("checks passed"), _("time")):
            table.add_column(column, no_wrap=column != _("title"), min_width=len(column))
        for lab, document, lab_seconds in rows:
            passed = sum(1 for check in document["checks"] if check["passed"])
            colour = "green" if document["status"] == "passed" else "red"
            table.add_row(f"{lab.number:02d}", shown(lab.spec.title),
                          f"[{colour}]{_(document['status'])}[/{colour}]",
                          _("{passed} of {total}", passed=passed, total=len(document["checks"])),
                          _("{seconds:.1f} s", seconds=lab_seconds))
        self.table(table)
        failed = sum(1 for row in rows if row[1]["status"] != "passed")
        total = _("{passed} of {total} labs passed in {seconds:.1f} s",
                  passed=len(rows) - failed, total=len(rows), seconds=seconds)
        self.line(self._totals(total, reports, index))

    def _totals(self, total: str, reports: Optional[Path], index: Optional[Path]) -> str:
        _ = self._
        parts = [escape(total)]
        if reports is not None:
            parts.append(_("reports: {path}", path=escape(f"{relative(reports)}/")))
        if index is not None:
            parts.append(_("index: {path}", path=escape(str(relative(index)))))
        return " · ".join(parts)

    def verify_summary(self, rows: list, reports: Path) -> None:
        """The end of `invoke verify`: each lab the same or drifted, then the totals."""
        _ = self._
        drifted = 0
        for lab, same in rows:
            drifted += not same
            mark = "[green]" + _("same") + "[/green]" if same else "[red]" + _("drifted") + "[/red]"
            self.line(_("lab {number:02d} {title}: {mark}", number=lab.number, title=shown(lab.spec.title),
                        mark=mark))
        total = _("{same} of {total} reports the same, {drifted} drifted", same=len(rows) - drifted,
                  total=len(rows), drifted=drifted)
        self.line(self._totals(total, reports, None))
