"""What the terminal shows: short notices, build progress, and a lab's summary.

Notices and progress go to stderr so stdout stays a clean summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forklab.normalize import one_line, visible
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
    def __init__(self) -> None:
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

    def lab_summary(self, result: dict, folder: Path) -> None:
        lab = result["lab"]
        heading = f"Run · {lab['title']}" if lab.get("kind") == "run" else f"Lab {lab['number']:02d} · {lab['title']}"
        self.out.print(f"[bold]{shown(heading)}[/bold]")
        if result.get("predictions"):
            right = sum(1 for p in result["predictions"] if p["right"])
            self.out.print(f"  your predictions: {right} of {len(result['predictions'])} right")
            for p in result["predictions"]:
                mark = "[green]✓[/green]" if p["right"] else "[red]✗[/red]"
                self.out.print(f"  {mark} {shown(p['ask'])} you said {shown(p['predicted'] or '(nothing)')}; "
                               f"the run shows {shown(p['observed'])}")
        if result.get("repeat"):
            self.repeat_summary(result["repeat"])
        else:
            for check in result["checks"]:
                mark = "[green]✓[/green]" if check["passed"] else "[red]✗[/red]"
                self.out.print(f"  {mark} {shown(check['name'])}")
                if not check["passed"]:
                    self.out.print(f"      [red]{shown(check['detail'])}[/red]")
        key = next((s for s in result["snapshots"] if s["checkpoint"] == lab.get("key_checkpoint")), None)
        if key is not None:
            table = Table(title=f"snapshot '{shown(key['checkpoint'])}'", title_justify="left",
                          show_edge=False, box=None, pad_edge=False)
            for column in ("role", "parent", "state", "command"):
                table.add_column(column)
            for row in snapshot_rows(result, key):
                state = row["state"] + (f" ({', '.join(row['notes'])})" if row["notes"] else "")
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
                self.out.print(f"  ... and {len(lines) - TREE_LINES} more processes: see the report")
        limits = (result["environment"].get("container") or {}).get("limits") or {}
        peak = result.get("peak_processes")
        if peak and limits.get("pids") and peak >= limits["pids"]:
            self.out.print(f"  [yellow]the pids limit was reached: {peak} processes at once "
                           f"(limit {limits['pids']}); fork() then fails with EAGAIN[/yellow]")
        if result.get("oom_kills"):
            self.out.print(f"  [yellow]{result['oom_kills']} process(es) OOM-killed "
                           f"(memory limit {limits.get('memory_bytes', 0) // 2**20} MiB)[/yellow]")
        for name in ("stdout", "stderr"):
            if result["truncated"].get(name):
                self.out.print(f"  [yellow]{name} was cut: {result['truncated'][name]} bytes dropped[/yellow]")
        for warning in result["warnings"]:
            self.out.print(f"  [yellow]{shown(warning)}[/yellow]")
        status = result.get("exit") or {}
        if status and (status.get("signal") or status.get("code")) and result["status"] != "passed":
            # A crash needs its cause at hand: how main ended, then the end of what it printed.
            how = (f"was killed by {status['signal_name']}" if status.get("signal")
                   else f"exited with code {status.get('code')}")
            who = "the script" if lab.get("kind") == "run" else "the lab's main process"
            self.out.print(f"  [red]{who} {how}[/red]")
            for name, count in (("stdout", TAIL_LINES // 2), ("stderr", TAIL_LINES)):
                lines = result[name].rstrip("\n").splitlines()[-count:]
                if lines:
                    self.out.print(f"  [dim]last lines of {name}:[/dim]")
                    for line in lines:
                        self.out.print(f"    {escape(visible(line))}", highlight=False)
        if result["runner"]["status"] not in ("finished", "timeout") and result["runner"].get("error"):
            last = result["runner"]["error"].strip().splitlines()[-1]
            self.out.print(f"  [red]the runner failed: {shown(last)}[/red]")
        colour = "green" if result["status"] == "passed" else "red"
        report = folder / "report.md"
        try:
            report = report.relative_to(Path.cwd())
        except ValueError:
            pass
        self.out.print(f"[{colour}]{result['status']}[/{colour}] · report: {report}")

    def repeat_summary(self, rep: dict) -> None:
        from forklab.repeat import bar

        chaos = f", chaos seed {rep['chaos']['seed']}" if rep.get("chaos") else ""
        self.out.print(f"  repeated {rep['count']} times{chaos}")
        for variant in rep["variants"]:
            if len(rep["variants"]) > 1:
                self.out.print(f"  [bold]{shown(variant['variant'])}[/bold]")
            for check in variant["checks"]:
                colour = "green" if check["passed"] == variant["runs"] else "red"
                self.out.print(f"  [{colour}]{check['passed']:>4} of {variant['runs']}[/{colour}]  "
                               f"{shown(check['name'])}")
            self.out.print("  first line:")
            for row in variant["first_lines"]:
                self.out.print(f"    {bar(row['count'], variant['runs'], 20)} {row['count']:>4}  "
                               f"{escape(visible(row['text']))}")
            self.out.print(f"  {len(variant['outputs'])} distinct output(s), "
                           f"{len(variant['trees'])} distinct process tree(s)")

    def doctor(self, rows: list) -> None:
        """`invoke doctor`'s findings: ✓ or ✗, and the fix under each problem."""
        for what, finding, fix in rows:
            mark = "[red]✗[/red]" if fix else "[green]✓[/green]"
            self.out.print(f"{mark} {what}: {escape(finding)}" + (f"\n    fix: {escape(fix)}" if fix else ""))

    def labs_summary(self, rows: list, seconds: float) -> None:
        """The table at the end of `invoke labs` and `invoke report`."""
        table = Table(box=None, pad_edge=False)
        for column in ("lab", "title", "status", "checks passed", "time"):
            table.add_column(column, no_wrap=True)
        for lab, document, lab_seconds in rows:
            passed = sum(1 for check in document["checks"] if check["passed"])
            colour = "green" if document["status"] == "passed" else "red"
            table.add_row(f"{lab.number:02d}", shown(lab.spec.title),
                          f"[{colour}]{document['status']}[/{colour}]",
                          f"{passed} of {len(document['checks'])}", f"{lab_seconds:.1f} s")
        self.out.print(table)
        failed = sum(1 for _, document, _ in rows if document["status"] != "passed")
        self.out.print(f"{len(rows) - failed} of {len(rows)} labs passed in {seconds:.1f} s")

