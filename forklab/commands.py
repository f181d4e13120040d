"""What each task does, as plain functions that tasks.py calls.

Each returns an exit code or raises a ForklabError (one line, its own exit
code).  The Docker SDK is imported only by the commands that need an engine,
so ``invoke --list`` and input errors stay fast.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from rich.markup import escape

from forklab import catalog, checks, i18n, index, interrupts, report, result
from forklab.console import Terminal
from forklab.errors import EnvironmentProblem, UsageError
from forklab.interrupts import Terminated, install_signal_handlers
from forklab.settings import Settings

if TYPE_CHECKING:
    from forklab.result import RunRecord


@dataclass
class Collected:
    """A lab's runs as they come back from their containers; ``finish`` makes its LabOutcome."""

    lab: catalog.Lab
    runs: list = field(default_factory=list)
    #: --repeat: every repetition's run, by variant name.
    repetitions: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class LabOutcome:
    """One lab, all its runs done (``finish``): its runs in lab.yaml's order, their outputs, the
    result document and the report files, all there from the moment it is made."""

    lab: catalog.Lab
    runs: list
    outputs: list
    seconds: float
    document: dict
    files: dict[str, bytes]


def select_labs(settings: Settings, numbers: list[str], to_run: bool = True) -> list[catalog.Lab]:
    """The labs asked for (all when none), every lab.yaml validated before anything runs.

    An exercise without its solution.py (a student's copy) has nothing for
    `invoke lab` to run: left out of "all", refused when asked for by number.
    """
    found = catalog.find_labs(settings.labs_dir)
    chosen = [catalog.parse_number(text, found) for text in numbers] or sorted(found)
    labs = [catalog.load_lab(found[number]) for number in dict.fromkeys(chosen)]
    if not to_run:
        return labs
    for lab in labs:
        if numbers and lab.missing_solution:
            lab.program()  # says, in one line, what to do instead
    return [lab for lab in labs if not lab.missing_solution]


def connect(head=None):
    """The engine module and a connected engine (``head``'s connection, when `invoke lab N` has one)."""
    from forklab import engine

    if head is not None:
        return engine, engine.Engine(head.client, head.endpoint, head.facts)
    return engine, engine.Engine.connect()


def lab_image(engine, settings: Settings, term: Terminal, pull: bool = False) -> tuple[str, str, str]:
    """The lab image, built first if its inputs changed.

    Which base an image is built on is said once, when an image is built on it:
    a run on an image already there says nothing of the offline base.
    """
    held: list = []

    def about_base(text: str) -> None:
        if text.startswith("using the offline base"):
            held.append(text)  # said only if an image is built on it
        else:
            term.say(text)

    def about_build(text: str) -> None:
        for note in held:
            term.say(note)
        held.clear()
        term.say(text)

    base = engine.resolve_base(settings.base_image, settings.mirror, about_base, pull=pull)
    built = False
    try:
        tag, image_id = engine.ensure_image(base, about_build, term.progress)
        built = True
    finally:
        term.build_finished(tag if built else "", built)
    return tag, image_id, base


def run_pool(engine_module, engine, jobs: int, session: str, items: list,
             work: Callable[[Any, Any], Any], on_done: Callable[[Any], None]) -> None:
    """``work(engine, item)`` for every item, ``jobs`` at a time; ``on_done`` gets each result as it finishes.

    Each thread has an engine client of its own (the SDK's client is not
    documented as thread-safe); with one job it is ``engine`` itself.  Ctrl-C
    or any error cancels what has not started and removes the session's
    containers, which ends the waits of the threads still running; the
    clients this made are closed in every case.  `invoke lab`, `labs`,
    `report`, `verify`, `check` and `grade` all run their containers so.
    """
    local = threading.local()
    engines: list = []
    lock = threading.Lock()

    def run_one(item):
        if not hasattr(local, "engine"):
            local.engine = engine if jobs == 1 else engine_module.Engine.connect()
            with lock:
                engines.append(local.engine)
        return work(local.engine, item)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(run_one, item) for item in items}
            try:
                while futures:
                    done, futures = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        on_done(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                # Threads still wait on their containers: removing them ends those waits.
                engine.remove_session(session)
                raise
    finally:
        for other in engines:
            if other is not engine:
                other.close()


def execute(settings: Settings, labs: list[catalog.Lab], term: Terminal, jobs: int = 1,
             on_done: Callable[[LabOutcome], None] = lambda outcome: None,
             repeat: int = 1, chaos: Optional[dict] = None,
             langs: Optional[dict] = None, head=None, spread: int = 1) -> list[LabOutcome]:
    """Run every variant of every lab, ``jobs`` containers at a time; report each lab as it completes.

    Each lab's checks and report are in ``langs[lab number]``, else in the settings' language.
    ``head``: `invoke lab N`'s head start (forklab/host/headstart.py): its connection, its session,
    the containers it started (each adopted only if it is what this run would create), and the
    plan it keeps for next time.  ``spread``: a sandbox's runs go to up to that many containers, side
    by side (`invoke lab N`: sooner), instead of one (several labs: fewer containers, less work).
    """
    _ = term._
    engine_module, engine = connect(head)
    session = head.session if head is not None else uuid.uuid4().hex[:12]
    collecting = {lab.number: Collected(lab) for lab in labs}
    outcomes: dict[int, LabOutcome] = {}
    pending = {lab.number: len(lab.runs()) for lab in labs}
    try:
        tag, image_id, base_image = lab_image(engine, settings, term)
        environment = {"host": engine_module.host_description(), "engine": engine.describe(),
                       "image": {"tag": tag, "id": image_id, "base": base_image}}

        def run_one(client, pairs: tuple) -> list[tuple[catalog.Lab, catalog.Run, RunRecord]]:
            return run_container(client, image_id, pairs, session, repeat, chaos, head)

        # The longest first, so that the last container is not a slow one started late: runs
        # watched from outside (pid1 lab or init) end with a timed `docker stop`, then the
        # containers that several runs share.
        work = sorted(containers_for(labs, jobs, spread),
                      key=lambda pairs: (not pairs[0][1].settings.stepped_aside, -len(pairs)))
        if len(labs) > 1:
            what = _("labs")
        elif repeat > 1:
            what = _("{what}, {count} times each", what=_describe(labs[0], _), count=repeat)
        else:
            what = _describe(labs[0], _)
        # Several labs: the bar counts labs done; one lab: its variants (no bar for a single quick run).
        count = len(labs[0].runs())
        total = len(labs) if len(labs) > 1 else count if count > 1 or repeat > 1 else 0
        with term.working(total, what) as advance:
            def ran(done: list[tuple[catalog.Lab, catalog.Run, RunRecord]]) -> None:
                for each in done:
                    ran_one(each)

            def ran_one(done: tuple[catalog.Lab, catalog.Run, RunRecord]) -> None:
                lab, variant, record = done
                outcome = collecting[lab.number]
                # --repeat brings back one document per repetition.
                documents = (record["document"] or {}).get("repeats") or [record["document"]]
                where = {**environment, "lang": (langs or {}).get(lab.number, settings.lang)}
                runs = [checked(lab, variant, {**record, "document": document}, where)
                        for document in documents]
                run = runs[0]
                if repeat > 1:
                    outcome.repetitions[variant.name] = runs
                outcome.runs.append(run)
                outcome.outputs.append(result.output_bytes(record))
                outcome.seconds += record["duration_ms"] / 1000
                which = "" if variant.name == "default" else f" {variant.name}"
                term.say(_("{what}: {status} ({seconds:.1f} s)", what=_describe(lab, _) + which,
                           status=_(run["status"]), seconds=record["duration_ms"] / 1000))
                pending[lab.number] -= 1
                if len(labs) == 1 or pending[lab.number] == 0:
                    advance()
                if pending[lab.number] == 0:
                    outcomes[lab.number] = finish(outcome, chaos)
                    on_done(outcomes[lab.number])

            workers, in_turn = in_turns(jobs, [pairs[0][1].settings.stepped_aside for pairs in work], run_one)
            run_pool(engine_module, engine, workers, session, list(enumerate(work)), in_turn, ran)
        if head is not None:
            head.finish(save=True)
    finally:
        if head is not None:
            head.finish(save=False)
        engine.close()
    return [outcomes[lab.number] for lab in labs]


def in_turns(jobs: int, watched: list[bool], work: Callable[[Any, Any], Any]) -> tuple[int, Callable]:
    """A pool's size and ``work`` made to take turns, for items given as (index, item): ``jobs``
    containers at a time, and those that ``watched[index]`` says are watched from outside beside them:
    such a run mostly waits (its checkpoints' docker exec, then docker stop's grace), so it does not
    take a container's turn.  With one job everything runs one after another."""
    if jobs <= 1:
        return 1, lambda client, numbered: work(client, numbered[1])
    slots = threading.BoundedSemaphore(jobs)

    def in_turn(client, numbered: tuple) -> Any:
        index, item = numbered
        if watched[index]:
            return work(client, item)
        with slots:
            return work(client, item)

    return jobs + sum(watched), in_turn


#: Runs of several labs in one container: at most this many (a report is written only when its
#: container ends, so fewer and longer containers would keep the progress still), and archives of
#: at most this many bytes together (each run's lab travels in the container's environment).
SHARED_RUNS = 6
SHARED_ARCHIVE_BYTES = 512 * 1024


def lost(record: RunRecord) -> bool:
    """Whether a run in a shared container came back without a document of its own: the container
    timed out or died, or the runner could not give the run a fresh start."""
    document = record.get("document")
    return bool(record.get("timed_out")) or not isinstance(document, dict) or document.get("status") == "runner-error"


def run_container(client, image_id: str, pairs: tuple, session: str, repeat: int = 1,
                  chaos: Optional[dict] = None, head=None) -> list[tuple[catalog.Lab, catalog.Run, RunRecord]]:
    """One container of ``containers_for``: each (lab, run) with its record.  A run that a shared
    container lost (``lost``) runs again in a container of its own, so that no run's result is
    what another run did to their container."""
    if len(pairs) == 1:
        [(lab, run)] = pairs
        return [(lab, run, client.run_lab(image_id, lab, run, session, repeat, chaos, head))]
    records = client.run_together(image_id, list(pairs), session, repeat, chaos, head)
    done = []
    for (lab, run), record in zip(pairs, records):
        if lost(record):
            record = client.run_lab(image_id, lab, run, session, repeat, chaos)
        done.append((lab, run, record))
    return done


def containers_for(labs: list[catalog.Lab], jobs: int, spread: int = 1
                   ) -> list[tuple[tuple[catalog.Lab, catalog.Run], ...]]:
    """The containers that run ``labs``, as (lab, run) pairs.  One lab: ``containers_of(lab, spread)``.
    Several: runs of any lab with one ``container_key`` share containers, at least ``jobs`` of them
    (side by side), at most SHARED_RUNS runs and SHARED_ARCHIVE_BYTES of archives each, runs dealt in
    turn in the labs' order; a run without a key has its own."""
    if len(labs) == 1:
        return [tuple((labs[0], run) for run in runs) for runs in containers_of(labs[0], spread)]

    def key(pair: tuple[catalog.Lab, catalog.Run]) -> Optional[tuple]:
        lab, run = pair
        return run.container_key if lab.shares_containers else None

    def archives(pairs: tuple) -> int:
        return sum(len(lab.archive or b"") for lab in {id(lab): lab for lab, _ in pairs}.values())

    def within(pairs: tuple) -> list[tuple[tuple[catalog.Lab, catalog.Run], ...]]:
        if len(pairs) > 1 and archives(pairs) > SHARED_ARCHIVE_BYTES:
            return within(pairs[:len(pairs) // 2]) + within(pairs[len(pairs) // 2:])
        return [pairs]

    groups = _grouped([(lab, run) for lab in labs for run in lab.runs()], key)
    out = [tuple(pairs) for pairs in groups if key(pairs[0]) is None]
    for pairs in groups:
        if key(pairs[0]) is not None:
            out += [piece for part in _dealt(pairs, max(jobs, -(-len(pairs) // SHARED_RUNS)))
                    for piece in within(part)]
    return out


def containers_of(lab: catalog.Lab, spread: int = 1) -> list[tuple[catalog.Run, ...]]:
    """The lab's runs as its containers run them: runs with one ``container_key`` share one, in
    lab.yaml's order, or with ``spread`` > 1 up to that many (``_dealt``); a run without a key, or of a
    lab that does not share (``Lab.shares_containers``), has its own."""
    groups = _grouped(lab.runs(), lambda run: run.container_key if lab.shares_containers else None)
    return [part for runs in groups for part in _dealt(runs, spread)]


def _grouped(items: list, key: Callable[[Any], Optional[tuple]]) -> list[list]:
    """``items`` in their order, those of one key together where the first of them stands; an item
    whose key is None on its own."""
    groups: dict[tuple, list] = {}
    out: list[list] = []
    for item in items:
        which = key(item)
        if which is None:
            out.append([item])
        elif which in groups:
            groups[which].append(item)
        else:
            groups[which] = [item]
            out.append(groups[which])
    return out


def _dealt(items: list, parts: int) -> list[tuple]:
    """``items`` dealt in turn into up to ``parts`` containers: the first, the third, ... in one, the
    second, the fourth, ... in the next."""
    parts = min(max(1, parts), len(items))
    return [tuple(items[start::parts]) for start in range(parts)]


def _describe(lab: catalog.Lab, _: Callable[..., str]) -> str:
    return (_("lab {number:02d}", number=lab.number) if lab.kind == "lab"
            else _("check of exercise {number:02d}", number=lab.number) if lab.kind == "check"
            else _("run of {folder}", folder=lab.folder))


def checked(lab: catalog.Lab, variant: catalog.Run, record: RunRecord, environment: dict) -> dict:
    """One run's result document, with its checks evaluated and its status decided.

    The checks speak the language ``environment["lang"]`` names (English when it names none).
    """
    run = result.assemble(lab, variant, record, environment)
    if lab.kind == "run":
        # Which script this report belongs to, so another of the same name never replaces it.
        run["lab"]["source_id"] = lab.source_id
    run["checks"] = checks.evaluate(variant.expect, run, i18n.of(run))
    run["status"] = result.decide_status(run, checks.checks_main_exit(variant.expect))
    return run


def finish(collected: Collected, chaos: Optional[dict] = None) -> LabOutcome:
    """The lab's outcome once every run is back: runs in lab.yaml's order, the document, the reports."""
    order = {variant.name: index for index, variant in enumerate(collected.lab.runs())}
    pairs = sorted(zip(collected.runs, collected.outputs), key=lambda pair: order[pair[0]["variant"]["name"]])
    runs = [run for run, _ in pairs]
    outputs = [output for _, output in pairs]
    document = result.combine(runs)
    if collected.repetitions:
        from forklab import repeat

        variants = collected.lab.runs()
        every = [run for variant in variants for run in collected.repetitions[variant.name]]
        document["repeat"] = {
            "count": len(collected.repetitions[variants[0].name]),
            "chaos": chaos,
            "variants": [repeat.summarize(variant.name, variant.title, collected.repetitions[variant.name])
                         for variant in variants]}
        document["status"] = result.Status.worst(run["status"] for run in every)
    if chaos:
        document["chaos"] = chaos
    return LabOutcome(collected.lab, runs, outputs, collected.seconds, document, report.render(document, outputs))


def _report_folder(settings: Settings, lab: catalog.Lab):
    return settings.reports_dir / lab.report_name


def write_outcome(settings: Settings, outcome: LabOutcome, folder=None):
    return writing(lambda: report.write_report(folder or _report_folder(settings, outcome.lab),
                                                outcome.files), settings)


def _write_index(settings: Settings, prepared: Optional[index.Prepared] = None):
    return writing(lambda: index.write(settings, prepared), settings)


#: errno values that mean the disk (or the user's quota) is full: the environment's fault.
DISK_FULL = {28, 122}  # ENOSPC, EDQUOT


def writing(action: Callable, settings: Settings):
    """Write reports; a reports folder that cannot take them is one line, not a traceback.

    write_report builds each report beside the old one and swaps it in whole, so
    whatever fails here leaves the previous report as it was.
    """
    try:
        return action()
    except OSError as exc:
        where = exc.filename or settings.reports_dir
        if exc.errno in DISK_FULL:
            raise EnvironmentProblem(f"{where}: the disk is full ({exc.strerror}); free some space and run "
                                     "again (the previous report is kept)") from None
        raise UsageError(f"{where}: reports cannot be written there ({exc.strerror}); make "
                         f"{settings.reports_dir} a folder you can write to, or set forklab.reports_dir "
                         "(INVOKE_FORKLAB_REPORTS_DIR)") from None


def reports_ready(settings: Settings) -> None:
    """Before anything runs: the reports folder is a folder this user can write in.

    A run takes seconds to minutes; finding out afterwards that its report has
    nowhere to go would waste it.  (A disk that fills up during the run is
    caught when the report is written.)
    """
    import tempfile

    folder = settings.reports_dir
    for place in (folder, *folder.parents):
        if place.exists() and not place.is_dir():
            raise UsageError(f"{place}: is a file, so reports cannot be written in {folder}; move it away "
                             "or set forklab.reports_dir (INVOKE_FORKLAB_REPORTS_DIR) to another folder")

    def probe() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass

    writing(probe, settings)


#: Command-line options that change a run's limits, and the lab.yaml key each sets.
OVERRIDE_OPTIONS = {"timeout": "timeout", "pids": "pids_limit", "memory": "memory_mb",
                    "output_cap": "output_cap_mb", "interval": "interval"}


def overrides(**options: str) -> catalog.RunOverrides:
    """--timeout 5 --pids 128 ...: checked against the same ceilings as lab.yaml."""
    values: dict = {}
    for option, text in options.items():
        if text in ("", None, False):
            continue
        key = OVERRIDE_OPTIONS.get(option, option)
        if isinstance(text, bool):
            values[key] = text
            continue
        try:
            values[key] = float(text) if key in ("timeout", "output_cap_mb", "interval") else int(text)
        except ValueError:
            raise UsageError(f"--{option.replace('_', '-')} {_quoted(text)}: not a number") from None
    try:
        return catalog.RunOverrides(**values)
    except catalog.ValidationError as exc:
        error = exc.errors()[0]
        option = next(o for o, k in OVERRIDE_OPTIONS.items() if k == error["loc"][0]) \
            if error["loc"][0] in OVERRIDE_OPTIONS.values() else str(error["loc"][0])
        raise UsageError(f"--{str(option).replace('_', '-')} {error['input']}: "
                         f"{error['msg'].lower()}") from None


def with_overrides(lab: catalog.Lab, extra: Optional[catalog.RunOverrides]) -> catalog.Lab:
    import dataclasses

    return lab if extra is None else dataclasses.replace(lab, overrides=extra)


def exit_code(outcomes: list[LabOutcome]) -> int:
    return 0 if all(o.document["status"] == "passed" for o in outcomes) else 1


def list_labs(settings: Settings, term: Terminal) -> int:
    """A table of the labs, each with its verdicts and its last report's status."""
    from rich.table import Table

    _ = term._
    table = Table(box=None, pad_edge=False)
    # At the console's width the title and the verdicts wrap; the number and the status never shrink.
    for column in (_("lab"), _("title"), _("tutorial verdicts"), _("last report")):
        table.add_column(column, no_wrap=column not in (_("title"), _("tutorial verdicts")),
                         min_width=len(column))
    problems = []
    for number, path in sorted(catalog.find_labs(settings.labs_dir).items()):
        try:
            lab = catalog.load_lab(path)
        except UsageError as exc:
            problems.append(exc.message)
            table.add_row(f"{number:02d}", path.name, "[red]" + _("lab.yaml is invalid") + "[/red]", "")
            continue
        words = []
        for claim in lab.spec.claims:
            assert claim.verdict is not None, "a loaded lab's claims are whole"
            words.append(_(claim.verdict))
        verdicts = _(", ").join(words) or "-"
        table.add_row(f"{number:02d}", lab.spec.title, verdicts, _(_last_status(settings, number)))
    term.table(table)
    for problem in problems:
        term.err.print(f"[red]{problem}[/red]")
    return 2 if problems else 0


def _last_status(settings: Settings, number: int) -> str:
    path = settings.reports_dir / f"lab-{number:02d}" / "result.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status", "?")
    except (OSError, ValueError):
        return "not run yet"


def build(settings: Settings, term: Terminal) -> int:
    engine_module, engine = connect()
    try:
        tag, image_id, base = lab_image(engine, settings, term, pull=True)
    finally:
        engine.close()
    term.out.print(f"{tag} ({image_id[:19]}) on {base}")
    return 0


def base(settings: Settings, term: Terminal, force: bool, arch: str = "") -> int:
    from forklab.settings import ARCHITECTURES

    if arch and arch not in ARCHITECTURES:
        raise UsageError(f"--arch {arch}: not one of {', '.join(ARCHITECTURES)}")
    engine_module, engine = connect()
    try:
        tag = engine.build_base(settings.mirror, term.say, force=force, arch=arch or None)
    finally:
        engine.close()
    term.out.print(f"offline base: {tag}")
    return 0


#: --chaos delays the parent or the child by up to this much after each fork.
CHAOS_MAX_MS = 20.0


def run_lab(settings: Settings, number_text: str, term: Terminal,
            extra: Optional[catalog.RunOverrides] = None, repeat: str = "", chaos: bool = False,
            seed: str = "", predict: bool = False, answers: Optional[list] = None, head=None) -> int:
    """`invoke lab N`: build if needed, run every variant, check, report (``head``: its head start).

    With --repeat K every variant runs K times in one container (a fresh process
    tree each time) and the report, in reports/lab-NN-repeat/, shows the
    distribution; --chaos adds seeded delays after each fork (--seed repeats them).
    """
    times = _count(repeat, "--repeat", 1, 1000) if repeat else 1
    chaos_settings = None
    if chaos or seed:
        chaos_settings = {"seed": _count(seed, "--seed", 0, 2**31) if seed else
                          int.from_bytes(os.urandom(4), "big") % 2**31, "max_ms": CHAOS_MAX_MS}
    [lab] = select_labs(settings, [number_text])
    reports_ready(settings)
    guesses = None
    if predict or answers:
        from forklab import predict as predictions

        if not lab.spec.predict:
            raise UsageError(f"lab {lab.number:02d} asks no questions (no `predict:` in its lab.yaml)")
        if answers:  # checked before anything is shown
            guesses = predictions.collect(lab.spec.predict, list(answers), None)
        term.out.print("[bold]" + term._("Lab {number:02d} · {title}", number=lab.number,
                                         title=escape(lab.spec.title)) + "[/bold]" + term._(": predict first."))
        if not answers:
            guesses = predictions.collect(lab.spec.predict, [], _ask if sys.stdin.isatty() else None,
                                          tell=lambda text: term.err.print(f"[yellow]{escape(text)}[/yellow]"),
                                          words=term._)
    # The other labs' rows of the index, read while this one runs.
    prepared = index.prepare(settings, {lab.number}) if times == 1 and not chaos_settings else None
    # A lab's runs in two containers side by side.
    [outcome] = execute(settings, [with_overrides(lab, extra)], term, jobs=2, repeat=times,
                         chaos=chaos_settings, head=head, spread=2)
    if guesses is not None:
        outcome.document["predictions"] = predictions.score(lab.spec.predict, guesses, outcome.runs)
        outcome.files = report.render(outcome.document, outcome.outputs)
    if times > 1 or chaos_settings:
        folder = write_outcome(settings, outcome, settings.reports_dir / f"{lab.report_name}-repeat")
    else:
        folder = write_outcome(settings, outcome)
        _write_index(settings, prepared)
    term.lab_summary(outcome.document, folder)
    return exit_code([outcome])


def _quoted(text: str, most: int = 40) -> str:
    """A value typed on the command line, as an error quotes it: on one line, control characters
    written out, cut after ``most`` characters."""
    from forklab.normalize import one_line

    text = one_line(str(text))
    return text if len(text) <= most else text[:most] + "…"


def _ask(prompt: str) -> str:
    """One answer typed at the terminal; the end of input (Ctrl-D) is a usage error, not a traceback."""
    try:
        return input(prompt)
    except EOFError:
        raise UsageError("--predict: the input ended before every question was answered; answer each, "
                         "or give one --answer per question") from None


def _count(text: str, option: str, low: int, high: int) -> int:
    text = str(text)
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise UsageError(f"{option} {_quoted(text)}: give a whole number from {low} to {high}")
    return int(text)


def run_script(settings: Settings, path_text: str, extra: catalog.RunOverrides,
               expect_exit: str, term: Terminal) -> int:
    """`invoke run PATH`: any script in the lab sandbox, reported under reports/run-NAME/.

    The script's own exit status decides nothing unless --expect-exit is given.
    """
    from pathlib import Path

    expected = _expected_exit(expect_exit)
    lab = catalog.load_script(Path(path_text).expanduser(), extra, expected)
    reports_ready(settings)
    lab = _own_report_folder(settings, lab)
    [outcome] = execute(settings, [lab], term)
    folder = write_outcome(settings, outcome)
    term.lab_summary(outcome.document, folder)
    return exit_code([outcome])


def check_submission(settings: Settings, lab: catalog.Lab, path, term: Terminal) -> LabOutcome:
    """Run the program at ``path`` as exercise ``lab``'s program and grade it.

    It runs as `invoke lab` runs the exercise's solution: the same sandbox,
    run settings and checks, with the exercise folder's other files beside it
    (never solution.py, starter.py or lab.yaml).  The outcome's document has
    ``score`` == {"earned": int, "total": int} (earned is 0 when the program
    did not parse, ran past the timeout or hit the pids limit), ``check`` ==
    {submission, reason (one line, or None), counted, hidden: {passed, total}},
    and ``checks`` whose items have ``name, passed, detail, points, hidden,
    hint``; hidden checks come last, named only "hidden check", with no
    detail or hint.  ``outcome.files`` is the report, not yet written.
    """
    from pathlib import Path

    from forklab import exercises

    if lab.spec.kind != "exercise":
        raise UsageError(f"lab {lab.number:02d} is not an exercise; {exercise_list(settings)}")
    submission = catalog.load_submission(lab, Path(path).expanduser())
    [outcome] = execute(settings, [submission], term)
    document = outcome.document
    exercises.grade(document, Path(path).name, i18n.of(document))
    outcome.files = report.render(document, outcome.outputs)
    return outcome


def exercise_list(settings: Settings) -> str:
    numbers = [f"{number:02d}" for number, path in sorted(catalog.find_labs(settings.labs_dir).items())
               if _is_exercise(path)]
    return f"the exercises are {', '.join(numbers)}" if numbers else "this course has no exercises"


def _is_exercise(path) -> bool:
    try:
        return catalog.load_lab(path).spec.kind == "exercise"
    except UsageError:
        return False


def check(settings: Settings, number_text: str, path_text: str, term: Terminal, summary_text: str = "") -> int:
    """`invoke check N [PATH]`: grade a student's program for exercise N; report in reports/check-NN/.

    Without PATH the program is the exercise's working copy, work/NN-slug.py
    beside the labs folder, made from the starter the first time and never
    overwritten.  --summary appends the score to FILE as GitHub Classroom's
    tools read it (forklab/classroom.py).  Exit 0 for full marks, 1 for fewer,
    2 for a bad path or a lab that is not an exercise.
    """
    from pathlib import Path

    from forklab import classroom, exercises

    summary = classroom.summary_path(summary_text) if summary_text else None
    [lab] = select_labs(settings, [number_text], to_run=False)
    if lab.spec.kind != "exercise":
        raise UsageError(f"lab {lab.number:02d} is not an exercise; {exercise_list(settings)}")
    if path_text:
        path = Path(path_text).expanduser()
    else:
        path, made = exercises.working_copy(settings.labs_dir, lab)
        shown = shown_path(path)
        if made:
            term.say(term._("{path}: made from the exercise's starter; it is yours: write your program there "
                            "(later checks never overwrite it)", path=shown))
        else:
            term.say(term._("checking {path} (your working copy; give a PATH to check another file)", path=shown))
    reports_ready(settings)
    outcome = check_submission(settings, lab, path, term)
    folder = write_outcome(settings, outcome)
    document = outcome.document
    term.check_summary(document, folder)
    if summary is not None:
        classroom.publish(document, summary)
    score = document["score"]
    return 0 if score["earned"] == score["total"] else 1


def shown_path(path) -> str:
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def handout(settings: Settings, out_text: str, term: Terminal) -> int:
    """`invoke handout [--out DIR]`: the students' copy of the course, written whole to DIR (default handout/)."""
    from pathlib import Path

    from forklab import handout as handouts

    root = settings.labs_dir.parent
    out = Path(out_text).expanduser() if out_text else root / "handout"
    summary = handouts.write(root, settings.labs_dir, out)
    term.out.print(term._("handout: {path} ({labs} labs and {exercises} exercises; left out: {solutions} "
                          "solutions, {hidden} hidden checks, {answers} checks that answer a prediction, "
                          "{claims} claim verdicts of exercises)", path=shown_path(summary["folder"]),
                          labs=summary["labs"], exercises=summary["exercises"], solutions=summary["solutions"],
                          hidden=summary["hidden"], answers=summary["answers"], claims=summary["claims"]))
    return 0


def _expected_exit(text: str):
    """--expect-exit: an exit code (0 to 255) or a signal's name (SIGKILL); 0 when not given."""
    import signal

    text = str(text or "").strip()
    if not text:
        return 0
    if text.isdigit() and 0 <= int(text) <= 255:
        return int(text)
    name = text.upper() if text.upper().startswith("SIG") else "SIG" + text.upper()
    if name in signal.Signals.__members__ or name in ("SIGKILL", "SIGTERM", "SIGSEGV", "SIGABRT", "SIGINT"):
        return name
    raise UsageError(f"--expect-exit {text}: give an exit code (0 to 255) or a signal (e.g. SIGKILL)")


def _own_report_folder(settings: Settings, lab: catalog.Lab) -> catalog.Lab:
    """reports/run-NAME, or run-NAME-2, ... when another script of the same name already has it.

    Each run report records which script it belongs to (a fingerprint of its
    path), so `invoke run a/test.py` and `invoke run b/test.py` keep a report each.
    """
    import dataclasses

    plain = lab.report_name
    for number in range(1, 1000):
        name = plain if number == 1 else f"{plain}-{number}"
        try:
            saved = json.loads((settings.reports_dir / name / "result.json").read_text(encoding="utf-8"))
            owner = (saved.get("lab") or {}).get("source_id")
        except (OSError, ValueError, AttributeError):
            owner = None  # no report there yet (or one that says nothing of its script)
        if owner in (None, lab.source_id):
            return dataclasses.replace(lab, report_as=name)
    raise UsageError(f"{settings.reports_dir}: too many reports named {plain}; remove some")


def run_labs(settings: Settings, numbers: list[str], jobs: int, term: Terminal) -> int:
    """`invoke labs [N ...]`: several labs at once; each report is written as its lab completes."""
    labs = select_labs(settings, numbers)
    reports_ready(settings)
    started = time.monotonic()
    outcomes = execute(settings, labs, term, jobs, on_done=lambda outcome: write_outcome(settings, outcome))
    path = _write_index(settings)
    term.labs_summary([(o.lab, o.document, o.seconds) for o in outcomes], time.monotonic() - started,
                      settings.reports_dir, path)
    return exit_code(outcomes)


def regenerate(settings: Settings, jobs: int, term: Terminal) -> int:
    """`invoke report`: every lab again, then all reports and the index written at the end.

    Nothing is written until every lab has run, so an interrupted call leaves
    the previous reports as they were.
    """
    labs = select_labs(settings, [])
    reports_ready(settings)
    started = time.monotonic()
    outcomes = execute(settings, labs, term, jobs)
    for outcome in outcomes:
        write_outcome(settings, outcome)
    path = _write_index(settings)
    term.labs_summary([(o.lab, o.document, o.seconds) for o in outcomes], time.monotonic() - started,
                      settings.reports_dir, path)
    return exit_code(outcomes)


def verify(settings: Settings, numbers: list[str], jobs: int, term: Terminal) -> int:
    """`invoke verify`: run the labs again and compare their normalized reports with those on disk.

    Each report is made again in the language it was made in (its result.json
    says), so Chinese reports a course committed are compared in Chinese.
    """
    labs = [lab for lab in select_labs(settings, numbers)
            if (_report_folder(settings, lab) / "normalized.md").is_file()]
    if not labs:
        raise UsageError(f"there are no reports in {settings.reports_dir} to verify against; "
                         "run `invoke report` first")
    langs = {lab.number: _saved_lang(_report_folder(settings, lab)) for lab in labs}
    outcomes = execute(settings, labs, term, jobs, langs=langs)
    drifted = []
    for outcome in outcomes:
        path = _report_folder(settings, outcome.lab) / "normalized.md"
        on_disk = path.read_text(encoding="utf-8").splitlines(keepends=True)
        fresh = outcome.files["normalized.md"].decode("utf-8").splitlines(keepends=True)
        if on_disk != fresh:
            drifted.append(outcome.lab)
            term.out.print("".join(difflib.unified_diff(on_disk, fresh, f"{path} (on disk)",
                                                        f"{path} (this run)")), markup=False,
                           highlight=False, end="")
    term.verify_summary([(outcome.lab, outcome.lab not in drifted) for outcome in outcomes], settings.reports_dir)
    return 1 if drifted else 0


def _saved_lang(folder) -> str:
    """The language of the report in ``folder``, from its result.json: English if it does not say
    (or cannot be read)."""
    try:
        saved = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return i18n.DEFAULT
    return i18n.of(saved if isinstance(saved, dict) else None)


def shell(settings: Settings, number_text: str, term: Terminal) -> int:
    """An interactive shell in the lab image, in the lab's folder, with the same sandbox."""
    [lab] = select_labs(settings, [number_text])
    engine_module, engine = connect()
    try:
        tag, _, _ = lab_image(engine, settings, term)
    finally:
        engine.close()
    script, shipped = lab.shipped()  # lab.py, or an exercise's solution.py
    command = ["docker", "run", "--rm", "-it", "--label", f"{engine_module.LABEL}=true",
               *engine_module.docker_run_flags(lab.spec.run),
               *[arg for name, value in shipped.items() for arg in ("--env", f"{name}={value}")],
               tag, "python3", "-m", "forklab.runner", "--shell", script]
    term.say(f"lab {lab.number:02d} in {tag}; try `python3 {script}`, leave with `exit`")
    try:
        return subprocess.call(command)
    except FileNotFoundError:
        raise EnvironmentProblem("`invoke shell` needs the docker command-line client on PATH; "
                                 "install it (Docker Desktop or the docker CLI package)") from None


def doctor(settings: Settings, term: Terminal) -> int:
    """`invoke doctor`: which engine, found how, and a one-line fix for each problem."""
    from forklab import engine

    rows = engine.diagnose()
    term.doctor(rows)
    # No engine is an environment error (3); anything else marked ✗ is 1.
    if any(fix for what, _, fix in rows if what in ("engine", "socket", "endpoint")):
        return 3
    return 1 if any(fix for _, _, fix in rows) else 0


def clean(settings: Settings, term: Terminal, images: bool) -> int:
    _, engine = connect()
    try:
        containers, removed = engine.clean(images)
    finally:
        engine.close()
    term.out.print(f"removed {containers} container(s)" + (f" and {removed} image(s)" if images else ""))
    return 0


def guarded(action: Callable[[], int]) -> tuple[int, str]:
    """Run a command; turn expected failures, Ctrl-C and SIGTERM into (exit code, one-line message)."""
    install_signal_handlers()
    interrupts.state.busy, interrupts.state.finished = True, False
    try:
        return action(), ""
    except (UsageError, EnvironmentProblem) as exc:
        return exc.exit_code, f"forklab: {exc.message}"
    except (KeyboardInterrupt, Terminated) as exc:
        return interrupts.unwound(exc)
    finally:
        interrupts.state.busy, interrupts.state.finished = False, True
