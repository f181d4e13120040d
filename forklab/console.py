"""What the terminal shows: short notices, build progress, and a lab's summary.

Notices and progress go to stderr so stdout stays a clean summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forklab import i18n
from forklab.normalize import main_traceback, one_line, visible
from forklab.pictures import text_tree

#: The terminal shows this much of a tree; the report has all of it.
TREE_LINES = 20
from forklab.report import snapshot_rows

#: How many of the last stderr lines a crash shows in the terminal (half as many of stdout).
TAIL_LINES = 6


def shown(text: object) -> str:
    """A name, a command or a sentence from a run, as the terminal prints it: on one
    line, its control characters written out (never executed), Rich's markup escaped."""
    return escape(one_line("" if text is None else str(text)))


class Terminal:
    def __init__(self, lang: str = i18n.DEFAULT) -> None:
        #: The words of the summary, in ``lang`` (en or zh); a run's own names and output stay as they are.
        self._ = i18n.translator(lang)
        self.lang = self._.lang
        # A Windows console in cp1252 or cp936 cannot show every character the
        # labs print (Chinese, ✓): show a ? instead of crashing.
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        for console in (self.out, self.err):
            # Piped into a file or grep, nothing should be cut to fit 80 columns.
            if not console.is_terminal:
                console.width = 200

    def say(self, text: str) -> None:
        self.err.print(f"[dim]{escape(text)}[/dim]")

    def progress(self, line: str) -> None:
        # Only the build's step headers: enough to see it move, short enough to read.
        if line.startswith("Step "):
            self.err.print(f"[dim]  {escape(line)}[/dim]")

    def possible_outputs(self, run: dict) -> None:
        """One line: how many outputs the program can print, and which one this run printed."""
        from forklab import orders

        _ = self._
        view = orders.for_report(run)
        if view is None:
            return
        if view["count"] is None:
            self.out.print("  " + _("every possible output: not counted ({reason})",
                                    reason=shown("; ".join(view["problems"]))))
        elif view["observed"] is not None:
            self.out.print("  " + _("every possible output: {count}; this run printed number {number} "
                                    "(the report lists them)", count=view["count"], number=view["observed"] + 1))
        else:
            self.out.print("  " + _("every possible output: {count}", count=view["count"]))

    def lab_summary(self, result: dict, folder: Path) -> None:
        _ = self._
        lab = result["lab"]
        heading = (_("Run · {title}", title=lab["title"]) if lab.get("kind") == "run"
                   else _("Lab {number:02d} · {title}", number=lab["number"], title=lab["title"]))
        self.out.print(f"[bold]{shown(heading)}[/bold]")
        # A main that exited with a code other than 0: its traceback first, the cause before the symptoms.
        for run in result.get("variants") or [result]:
            traceback = main_traceback(run)
            if not traceback:
                continue
            code = (run.get("exit") or {}).get("code")
            how = (_("the script exited with code {code}", code=code) if lab.get("kind") == "run"
                   else _("the lab's main process exited with code {code}", code=code))
            which = f" ({shown(run['variant']['name'])})" if result.get("variants") else ""
            self.out.print(f"  [red]{how}{which}[/red]" + _(":"))
            for line in traceback.rstrip("\n").split("\n"):
                self.out.print(f"    [red]{escape(visible(line))}[/red]", highlight=False)
        if result.get("predictions"):
            right = sum(1 for p in result["predictions"] if p["right"])
            self.out.print("  " + _("your predictions: {right} of {total} right",
                                    right=right, total=len(result["predictions"])))
            for p in result["predictions"]:
                mark = "[green]✓[/green]" if p["right"] else "[red]✗[/red]"
                self.out.print(f"  {mark} " + _("{question} you said {predicted}; the run shows {observed}",
                                                question=shown(p["ask"]),
                                                predicted=shown(p["predicted"] or _("(nothing)")),
                                                observed=shown(p["observed"])))
                if p.get("why"):
                    self.out.print("      " + shown(p["why"]))
        if result.get("repeat"):
            self.repeat_summary(result["repeat"])
        else:
            for check in result["checks"]:
                mark = "[green]✓[/green]" if check["passed"] else "[red]✗[/red]"
                self.out.print(f"  {mark} {shown(check['name'])}")
                if not check["passed"]:
                    self.out.print(f"      [red]{shown(check['detail'])}[/red]")
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
            self.out.print(table)
        else:
            # No snapshot to show: the tree of who forked whom is the key moment.
            lines = text_tree(result)
            for line in lines[:TREE_LINES]:
                self.out.print(f"  {escape(line)}")  # text_tree writes every line out visibly
            if len(lines) > TREE_LINES:
                self.out.print("  " + _("... and {count} more processes: see the report", count=len(lines) - TREE_LINES))
        limits = (result["environment"].get("container") or {}).get("limits") or {}
        peak = result.get("peak_processes")
        if peak and limits.get("pids") and peak >= limits["pids"]:
            self.out.print("  [yellow]" + _("the pids limit was reached: {peak} processes at once (limit {limit}); "
                                            "fork() then fails with EAGAIN", peak=peak, limit=limits["pids"])
                           + "[/yellow]")
        if result.get("oom_kills"):
            self.out.print("  [yellow]" + _("{count} process(es) OOM-killed (memory limit {mib} MiB)",
                                            count=result["oom_kills"],
                                            mib=limits.get("memory_bytes", 0) // 2**20) + "[/yellow]")
        for name in ("stdout", "stderr"):
            if result["truncated"].get(name):
                self.out.print("  [yellow]" + _("{name} was cut: {count} bytes dropped", name=name,
                                                count=result["truncated"][name]) + "[/yellow]")
        for warning in result["warnings"]:
            self.out.print(f"  [yellow]{shown(warning)}[/yellow]")
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
            self.out.print(f"  [red]{how}[/red]")
            for name, count in (("stdout", TAIL_LINES // 2), ("stderr", TAIL_LINES)):
                if name == "stderr" and main_traceback(result):
                    continue  # shown first
                lines = result[name].rstrip("\n").splitlines()[-count:]
                if lines:
                    self.out.print("  [dim]" + _("last lines of {name}:", name=name) + "[/dim]")
                    for line in lines:
                        self.out.print(f"    {escape(visible(line))}", highlight=False)
        if result["runner"]["status"] not in ("finished", "timeout") and result["runner"].get("error"):
            last = result["runner"]["error"].strip().splitlines()[-1]
            self.out.print("  [red]" + _("the runner failed: {line}", line=shown(last)) + "[/red]")
        colour = "green" if result["status"] == "passed" else "red"
        report = folder / "report.md"
        try:
            report = report.relative_to(Path.cwd())
        except ValueError:
            pass
        self.out.print(f"[{colour}]{_(result['status'])}[/{colour}] · "
                       + _("report: {path}", path=escape(str(report))))

    def check_summary(self, result: dict, folder: Path) -> None:
        """`invoke check`: each check ✓ or ✗ with what was expected and seen and the hint for a
        failed one, the hidden checks as a count, the score, and why a run went wrong."""
        _ = self._
        lab, graded = result["lab"], result["check"]
        self.out.print("[bold]" + shown(_("Check · exercise {number:02d} · {title} · {file}", number=lab["number"],
                                          title=lab["title"], file=graded["submission"])) + "[/bold]")
        for check in result["checks"]:
            if check.get("hidden"):
                continue
            mark = "[green]✓[/green]" if check["passed"] else "[red]✗[/red]"
            worth = _("({points} points)", points=check["points"]) if check["points"] != 1 else ""
            self.out.print(f"  {mark} {shown(check['name'])}" + (f" [dim]{worth}[/dim]" if worth else ""))
            if not check["passed"]:
                self.out.print(f"      [red]{shown(check['detail'])}[/red]")
                if check.get("hint"):
                    self.out.print("      [yellow]" + shown(_("hint: {hint}", hint=check["hint"])) + "[/yellow]")
        hidden = graded["hidden"]
        if hidden["total"]:
            colour = "green" if hidden["passed"] == hidden["total"] else "red"
            self.out.print(f"  [{colour}]" + _("hidden checks: {passed} of {total} passed", **hidden)
                           + f"[/{colour}]")
        if graded["reason"]:
            self.out.print("  [red]" + shown(graded["reason"]) + "[/red]"
                           + ("" if graded["counted"] else " " + _("(so no check counts)")))
        score = result["score"]
        colour = "green" if score["earned"] == score["total"] else "red"
        report = folder / "report.md"
        try:
            report = report.relative_to(Path.cwd())
        except ValueError:
            pass
        self.out.print(f"[{colour}]" + _("score: {earned} of {total} points", **score) + f"[/{colour}] · "
                       + _("report: {path}", path=escape(str(report))))

    def repeat_summary(self, rep: dict) -> None:
        from forklab.repeat import bar

        _ = self._
        self.out.print("  " + (_("repeated {count} times, chaos seed {seed}", count=rep["count"],
                                 seed=rep["chaos"]["seed"]) if rep.get("chaos")
                               else _("repeated {count} times", count=rep["count"])))
        for variant in rep["variants"]:
            if len(rep["variants"]) > 1:
                self.out.print(f"  [bold]{shown(variant['variant'])}[/bold]")
            for check in variant["checks"]:
                colour = "green" if check["passed"] == variant["runs"] else "red"
                self.out.print(f"  [{colour}]" + _("{passed:>4} of {runs}", passed=check["passed"],
                                                   runs=variant["runs"]) + f"[/{colour}]  {shown(check['name'])}")
            self.out.print("  " + _("first line:"))
            for row in variant["first_lines"]:
                self.out.print(f"    {bar(row['count'], variant['runs'], 20)} {row['count']:>4}  "
                               f"{escape(visible(row['text']))}")
            self.out.print("  " + _("{outputs} distinct output(s), {trees} distinct process tree(s)",
                                    outputs=len(variant["outputs"]), trees=len(variant["trees"])))

    def doctor(self, rows: list) -> None:
        """`invoke doctor`'s findings: ✓ or ✗, and the fix under each problem."""
        for what, finding, fix in rows:
            mark = "[red]✗[/red]" if fix else "[green]✓[/green]"
            self.out.print(f"{mark} {what}: {escape(finding)}" + (f"\n    fix: {escape(fix)}" if fix else ""))

    def labs_summary(self, rows: list, seconds: float) -> None:
        """The table at the end of `invoke labs` and `invoke report`."""
        _ = self._
        table = Table(box=None, pad_edge=False)
        for column in (_("lab"), _("title"), _("status"), _("checks passed"), _("time")):
            table.add_column(column, no_wrap=True)
        for lab, document, lab_seconds in rows:
            passed = sum(1 for check in document["checks"] if check["passed"])
            colour = "green" if document["status"] == "passed" else "red"
            table.add_row(f"{lab.number:02d}", shown(lab.spec.title),
                          f"[{colour}]{_(document['status'])}[/{colour}]",
                          _("{passed} of {total}", passed=passed, total=len(document["checks"])),
                          _("{seconds:.1f} s", seconds=lab_seconds))
        self.out.print(table)
        failed = sum(1 for row in rows if row[1]["status"] != "passed")
        self.out.print(_("{passed} of {total} labs passed in {seconds:.1f} s",
                         passed=len(rows) - failed, total=len(rows), seconds=seconds))

