"""What each task does, as plain functions that tasks.py calls.

Each returns an exit code or raises a ForklabError (one line, its own exit
code).  The Docker SDK is imported only by the commands that need an engine,
so ``invoke --list`` and input errors stay fast.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

from forklab import catalog, checks, report, result
from forklab.console import Terminal
from forklab.errors import EnvironmentProblem, UsageError
from forklab.settings import Settings


def _load(settings: Settings, number_text: str) -> catalog.Lab:
    labs = catalog.find_labs(settings.labs_dir)
    number = catalog.parse_number(number_text, labs)
    return catalog.load_lab(labs[number])


def _connect():
    from forklab import engine

    return engine, engine.Engine.connect()


def _image(engine, settings: Settings, term: Terminal, pull: bool = False) -> tuple[str, str, str]:
    base = engine.resolve_base(settings.base_image, settings.mirror, term.say, pull=pull)
    tag, image_id = engine.ensure_image(base, settings.labs_dir, term.say, term.progress)
    return tag, image_id, base


def list_labs(settings: Settings, term: Terminal) -> int:
    """A table of the labs, each with its verdicts and its last report's status."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("lab", "title", "tutorial verdicts", "last report"):
        table.add_column(column, no_wrap=True)
    problems = []
    for number, path in sorted(catalog.find_labs(settings.labs_dir).items()):
        try:
            lab = catalog.load_lab(path)
        except UsageError as exc:
            problems.append(exc.message)
            table.add_row(f"{number:02d}", path.name, "[red]lab.yaml is invalid[/red]", "")
            continue
        verdicts = ", ".join(claim.verdict for claim in lab.spec.claims) or "-"
        table.add_row(f"{number:02d}", lab.spec.title, verdicts, _last_status(settings, number))
    term.out.print(table)
    for problem in problems:
        term.err.print(f"[red]{problem}[/red]")
    return 2 if problems else 0


def _last_status(settings: Settings, number: int) -> str:
    import json

    path = settings.reports_dir / f"lab-{number:02d}" / "result.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status", "?")
    except (OSError, ValueError):
        return "not run yet"


def build(settings: Settings, term: Terminal) -> int:
    engine_module, engine = _connect()
    try:
        tag, image_id, base = _image(engine, settings, term, pull=True)
    finally:
        engine.close()
    term.out.print(f"{tag} ({image_id[:19]}) on {base}")
    return 0


def base(settings: Settings, term: Terminal, force: bool) -> int:
    engine_module, engine = _connect()
    try:
        tag = engine.build_base(settings.mirror, term.say, force=force)
    finally:
        engine.close()
    term.out.print(f"offline base: {tag}")
    return 0


def run_lab(settings: Settings, number_text: str, term: Terminal) -> int:
    """`invoke lab N`: build if needed, run, check, report."""
    lab = _load(settings, number_text)
    engine_module, engine = _connect()
    try:
        tag, image_id, base_image = _image(engine, settings, term)
        environment = {"host": engine_module.host_description(), "engine": engine.describe(),
                       "image": {"tag": tag, "id": image_id, "base": base_image}}
        runs, outputs = [], []
        for variant in lab.runs():
            which = "" if variant.name == "default" else f", variant {variant.name}"
            term.say(f"running lab {lab.number:02d} ({lab.folder}{which}) in {tag} ...")
            record = engine.run_lab(image_id, lab, variant)
            run = result.assemble(lab, variant, record, environment)
            run["checks"] = checks.evaluate(variant.expect, run)
            run["status"] = result.decide_status(run, checks.checks_main_exit(variant.expect))
            runs.append(run)
            outputs.append(result.output_bytes(record))
    finally:
        engine.close()
    document = result.combine(runs)
    files = report.render(document, outputs)
    folder = report.write_report(settings.reports_dir / f"lab-{lab.number:02d}", files)
    term.lab_summary(document, folder)
    return 0 if document["status"] == "passed" else 1


def shell(settings: Settings, number_text: str, term: Terminal) -> int:
    """An interactive shell in the lab image, in the lab's folder, with the same sandbox."""
    lab = _load(settings, number_text)
    engine_module, engine = _connect()
    try:
        tag, _, _ = _image(engine, settings, term)
    finally:
        engine.close()
    command = ["docker", "run", "--rm", "-it", "--label", f"{engine_module.LABEL}=true",
               *engine_module.docker_run_flags(lab.spec.run),
               "--workdir", f"{engine_module.IN_IMAGE_LABS}/{lab.folder}", tag, "bash"]
    term.say(f"lab {lab.number:02d} in {tag}; try `python3 lab.py`, leave with `exit`")
    try:
        return subprocess.call(command)
    except FileNotFoundError:
        raise EnvironmentProblem("`invoke shell` needs the docker command-line client on PATH; "
                                 "install it (Docker Desktop or the docker CLI package)") from None


def clean(settings: Settings, term: Terminal, images: bool) -> int:
    _, engine = _connect()
    try:
        containers, removed = engine.clean(images)
    finally:
        engine.close()
    term.out.print(f"removed {containers} container(s)" + (f" and {removed} image(s)" if images else ""))
    return 0


def guarded(action: Callable[[], int]) -> tuple[int, str]:
    """Run a command; turn expected failures and Ctrl-C into (exit code, one-line message)."""
    try:
        return action(), ""
    except (UsageError, EnvironmentProblem) as exc:
        return exc.exit_code, f"forklab: {exc.message}"
    except KeyboardInterrupt:
        return 130, "forklab: interrupted; the container was removed and earlier reports are untouched"


__all__ = ["Path", "build", "base", "clean", "guarded", "list_labs", "run_lab", "shell"]
