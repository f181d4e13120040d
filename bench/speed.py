"""The course's speed targets, measured on this machine, as a user runs the commands.

    .venv/bin/python bench/speed.py                 # every target, 7 rounds; prints the table
    .venv/bin/python bench/speed.py --rounds 3      # quicker, noisier
    .venv/bin/python bench/speed.py --skip-labs     # without `invoke labs` (the slow one)
    .venv/bin/python bench/speed.py --only lab1,floor   # some rows only (lab1, lab3, list, labs, floor, standby)
    .venv/bin/python bench/speed.py --profile       # also: where the host spends its time

Each command is a whole process (`.venv/bin/invoke lab 1`, what a person types),
started from the checkout with its reports in a scratch folder.  The measured
command and its baseline run alternately in the same minutes, so a machine
that other work slows down slows both; ratios compare medians.  Besides the
wall time, wait4() gives each command's peak RSS and the CPU time of the host
process (user + system): the kit's own cost, which other load on the machine
hardly changes.

Targets (the course's):

- warm `invoke lab 1` (one variant) ≤ 1.5× one bare `docker run --rm IMAGE python3 -c pass`
- warm `invoke lab 3` (two variants) ≤ 2.0× the same `docker run`
- `invoke --list` ≤ 150 ms
- `invoke labs` ≤ 4× `invoke lab 3` × (labs run) / 12: the target was "all twelve labs
  ≤ 4× lab 3", written when there were twelve; the budget per lab is kept
- peak host RSS: `invoke lab 3` ≤ 100 MB, `invoke labs` ≤ 150 MB

Besides the targets, the floor of the kit's own stack (bench/floor.py, no target): a Python
program that starts, imports Invoke's program and the Docker SDK, connects as the kit does and
creates, starts, waits for, reads and removes one `python3 -c pass` container, with nothing of
forklab's.  Its ratio to the bare `docker run` is what Invoke and the Docker SDK cost on this machine;
`invoke lab 1`'s ratio to it is the kit's own part.  The standby row is the same floor for a
design the kit does not have, one that keeps a container running between commands: the
command execs into it instead of creating one (bench/floor.py --standby).

Nothing here asserts: it measures, and says PASS or MISS.
"""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
INVOKE = str(VENV_BIN / "invoke") if (VENV_BIN / "invoke").exists() else shutil.which("invoke") or "invoke"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
FLOOR = Path(__file__).resolve().parent / "floor.py"
#: What --only can name: the rows' commands.
MEASURES = ("lab1", "lab3", "list", "labs", "floor", "standby")
REPORTS = Path(tempfile.mkdtemp(prefix="forklab-speed-"))
ENV = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(REPORTS)}
#: Set in some CI and sandboxed shells; a user's Python keeps the kit's compiled bytecode, which saves
#: every command about 50 ms of compiling forklab's modules (--no-bytecode measures without it).
BYTECODE_OFF = "PYTHONDONTWRITEBYTECODE"


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Series:
    command: list[str]
    samples: list[Sample] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss(self) -> float:
        return max(s.rss_mb for s in self.samples)


def run(command: list[str]) -> Sample:
    """One run of ``command``: wall seconds, the CPU seconds of its process tree, its peak RSS."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # wait4 reports this child (and the descendants it waited for): not earlier commands.
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    assert process.stderr is not None
    err = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # 1: a lab ran and did not pass; still a full run
        raise SystemExit(f"speed: {' '.join(command)} failed ({process.returncode}):\n{err[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def alternate(commands: list[list[str]], rounds: int) -> list[Series]:
    """Each command once per round, in turn, ``rounds`` times."""
    series = [Series(command) for command in commands]
    for _ in range(rounds):
        for one in series:
            one.samples.append(run(one.command))
    return series


def lab_image() -> str:
    """The lab image `invoke lab` uses now (built if its inputs changed)."""
    sys.path.insert(0, str(ROOT))
    from forklab.engine import Engine
    from forklab.settings import Settings

    engine = Engine.connect()
    try:
        settings = Settings.from_config({}, ROOT)
        base = engine.resolve_base(settings.base_image, settings.mirror, lambda _: None, pull=False)
        tag, _ = engine.ensure_image(base, lambda _: None, lambda _: None)
    finally:
        engine.close()
    return tag


def labs_run() -> tuple[int, int, int]:
    """How many labs `invoke labs` runs (an exercise without its solution is left out), their runs (one per
    variant, or one for a lab without variants) and their containers (runs with one sandbox share them)."""
    sys.path.insert(0, str(ROOT))
    from forklab import catalog, commands

    found = catalog.find_labs(ROOT / "labs")
    labs = [lab for lab in (catalog.load_lab(path) for path in found.values()) if not lab.missing_solution]
    return len(labs), sum(len(lab.runs()) for lab in labs), len(commands.containers_for(labs, 2))


def machine() -> str:
    cpu = platform.processor()
    memory = "?"
    if Path("/proc/cpuinfo").exists():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    if Path("/proc/meminfo").exists():
        kib = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal")), "")
        memory = f"{int(kib) / 2**20:.0f} GiB" if kib.isdigit() else "?"
    engine = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                            text=True).stdout.strip() or "?"
    return (f"{platform.system()} {platform.release()} ({platform.machine()}), {cpu}, {os.cpu_count()} cores, "
            f"{memory} memory; Docker Engine {engine}; host Python {platform.python_version()}")


def load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def invoke(*argv: str) -> list[str]:
    return [INVOKE, *argv]


def floor(image: str) -> list[str]:
    return [PYTHON, str(FLOOR), image]


def standby_floor(container: str) -> list[str]:
    return [PYTHON, str(FLOOR), "--standby", container]


def shown(command: list[str]) -> str:
    """The command as a person types it from the checkout."""
    head = {INVOKE: ".venv/bin/invoke", PYTHON: ".venv/bin/python"}.get(command[0], command[0])
    rest = ["bench/floor.py" if part == str(FLOOR) else part for part in command[1:]]
    return " ".join([head, *rest])


def import_breakdown(top: int = 12) -> list[tuple[str, float, float]]:
    """`python -X importtime -m invoke --list`: (module, self ms, cumulative ms) of the slowest top-level imports."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", "--list"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        if depth == 0:
            rows.append((name.strip(), int(self_us) / 1000, int(cumulative_us) / 1000))
    return sorted(rows, key=lambda row: -row[2])[:top]


#: The steps of `invoke lab N` on the host, as (what, function's file and name) for pstats.
PHASES = (
    ("whole run (invoke's own start-up excluded)", "invoke/executor.py", "execute"),
    ("import forklab.commands (pydantic and the models, rich, the kit)", "forklab/commands.py", "<module>"),
    ("read and validate the lab (select_labs)", "forklab/commands.py", "select_labs"),
    ("import the Docker SDK, connect (connect)", "forklab/commands.py", "connect"),
    ("find the images (lab_image)", "forklab/commands.py", "lab_image"),
    ("run every variant, containers included (execute)", "forklab/commands.py", "execute"),
    ("  of which the host only waits for the containers", "concurrent/futures/_base.py", "wait"),
    ("checks and result (checked)", "forklab/commands.py", "checked"),
    ("make the outcome (finish)", "forklab/commands.py", "finish"),
    ("render and write the report (write_outcome)", "forklab/commands.py", "write_outcome"),
    ("write the index (_write_index)", "forklab/commands.py", "_write_index"),
    ("the summary in the terminal", "forklab/console.py", "lab_summary"),
    ("close the engines (waits for removals)", "forklab/engine.py", "close"),
)


def profile(lab: str = "1") -> str:
    """cProfile of one warm `invoke lab N`: the cumulative seconds of each step (PHASES).

    cProfile slows Python code down (not the waits), so the steps' shares matter more than their sums;
    it sees the main thread only (the containers are run by a pool's threads, which it waits for).
    """
    import pstats

    out = REPORTS / "lab.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "invoke", "lab", lab], cwd=ROOT,
                   env=ENV, capture_output=True)
    stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    lines = []
    for what, where, name in PHASES:
        found = [(calls, cumulative) for (path, _, function), (_, calls, _, cumulative, _) in stats.items()
                 if path.replace("\\", "/").endswith(where) and function == name]
        if found:
            calls = sum(c for c, _ in found)
            seconds = sum(t for _, t in found)
            lines.append(f"  {seconds * 1000:7.0f} ms  {what}" + (f" ({calls} calls)" if calls > 1 else ""))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--labs-rounds", type=int, default=3, help="runs of `invoke labs` (default 3)")
    parser.add_argument("--skip-labs", action="store_true", help="leave out `invoke labs`")
    parser.add_argument("--only", default="", metavar="ROWS",
                        help=f"measure only these, comma-separated, of: {', '.join(MEASURES)} "
                             "(e.g. --only lab1,floor: under a minute)")
    parser.add_argument("--profile", action="store_true", help="print where the host spends its time")
    parser.add_argument("--no-bytecode", action="store_true",
                        help=f"keep {BYTECODE_OFF} if it is set (by default it is unset, as in a user's shell)")
    options = parser.parse_args()
    only = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in MEASURES]
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)}; choose among {', '.join(MEASURES)}")
    wanted = {name for name in MEASURES if not only or name in only}
    if options.skip_labs:
        wanted.discard("labs")
    if not options.no_bytecode:
        ENV.pop(BYTECODE_OFF, None)
    bytecode = "off" if ENV.get(BYTECODE_OFF) else "on"

    started = time.monotonic()
    image = lab_image()
    bare = ["docker", "run", "--rm", image, "python3", "-c", "pass"]
    print(f"lab image {image}; reports in {REPORTS}; load {load()}", file=sys.stderr)
    lab1_command, lab3_command, floor_command = invoke("lab", "1"), invoke("lab", "3"), floor(image)
    standby_command: list[str] = []
    if "standby" in wanted:
        name = f"forklab-bench-standby-{os.getpid()}"
        subprocess.run(["docker", "run", "-d", "--rm", "--name", name, image, "sleep", "infinity"],
                       capture_output=True, check=True)
        atexit.register(subprocess.run, ["docker", "rm", "-f", name], capture_output=True)
        standby_command = standby_floor(name)
    # Warm: the image exists, bytecode is compiled, the page cache holds the SDK.
    for name, command in (("lab1", lab1_command), ("lab3", lab3_command), ("floor", floor_command),
                          ("standby", standby_command), ("list", invoke("--list"))):
        if name in wanted:
            run(command)
    if wanted & {"lab1", "lab3", "floor", "standby"}:
        run(bare)

    rows: list[tuple[str, Series, Optional[Series], Optional[float], Optional[float]]] = []

    def ratio_row(name: str, measured: Series, baseline: Series, target: Optional[float]) -> None:
        rows.append((name, measured, baseline, measured.wall / baseline.wall, target))

    # The bare `docker run` and every command measured against it (or the floor), in turn.
    group = [(name, command) for name, command in (("lab1", lab1_command), ("lab3", lab3_command),
                                                   ("floor", floor_command), ("standby", standby_command))
             if name in wanted]
    measured: dict[str, Series] = {}
    if group:
        docker_run, *others = alternate([bare, *(command for _, command in group)], options.rounds)
        measured = {name: series for (name, _), series in zip(group, others)}
    lab1, lab3, the_floor = measured.get("lab1"), measured.get("lab3"), measured.get("floor")
    if lab1 is not None:
        ratio_row("warm lab 1 vs bare docker run", lab1, docker_run, 1.5)
    if lab3 is not None:
        ratio_row("warm lab 3 vs bare docker run", lab3, docker_run, 2.0)
    if the_floor is not None:
        ratio_row("floor (Python, Invoke, Docker SDK, one container) vs bare docker run", the_floor, docker_run,
                  None)
    if the_floor is not None and lab1 is not None:
        ratio_row("warm lab 1 vs the floor (the kit's own part)", lab1, the_floor, None)
    if measured.get("standby") is not None:
        ratio_row("floor with a container left running (Python, Invoke, Docker SDK, one docker exec) "
                  "vs bare docker run", measured["standby"], docker_run, None)
    if "list" in wanted:
        listing = alternate([invoke("--list")], options.rounds)[0]
        rows.append(("invoke --list", listing, None, None, 0.150))
    count, runs, containers = labs_run()
    every = None
    if "labs" in wanted:
        every, lab3_again = alternate([invoke("labs"), lab3_command], options.labs_rounds)
        ratio_row(f"all {count} labs vs lab 3", every, lab3_again, round(4 * count / 12, 2))
    memory: list[tuple[str, float, Optional[int]]] = []
    if lab3 is not None:
        memory.append(("peak host RSS, lab 3", lab3.rss, 100))
    if every is not None:
        memory.append(("peak host RSS, labs", every.rss, 150))
    if the_floor is not None:
        memory.append(("peak host RSS, the floor", the_floor.rss, None))

    flags = (f"{' --skip-labs' if options.skip_labs else ''}{f' --only {options.only}' if options.only else ''}"
             f"{' --no-bytecode' if options.no_bytecode else ''}")
    lines = [f"Made by `.venv/bin/python bench/speed.py --rounds {options.rounds}{flags}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             f" in {time.monotonic() - started:.0f} s; load average before: {load()}; Python's bytecode cache "
             f"{bytecode}.", "",
             f"Machine: {machine()}.", "",
             "| measure | command | median wall | baseline | ratio | target | host CPU | |",
             "|---|---|---|---|---|---|---|---|"]
    for name, one, baseline, ratio, target in rows:
        if baseline is None or ratio is None:
            assert target is not None
            verdict = "PASS" if one.wall <= target else "MISS"
            lines.append(f"| {name} | `{shown(one.command)}` | {one.wall * 1000:.0f} ms | | | "
                         f"≤ {target * 1000:.0f} ms | {one.cpu * 1000:.0f} ms | {verdict} |")
        else:
            verdict = "" if target is None else "PASS" if ratio <= target else "MISS"
            lines.append(f"| {name} | `{shown(one.command)}` vs `{shown(baseline.command)}` | "
                         f"{one.wall:.2f} s | {baseline.wall:.2f} s | {ratio:.2f}× | "
                         f"{'' if target is None else f'≤ {target}×'} | {one.cpu:.2f} s | {verdict} |")
    for name, mb, limit in memory:
        if limit is None:
            lines.append(f"| {name} | | {mb:.0f} MB | | | | | |")
        else:
            lines.append(f"| {name} | | {mb:.0f} MB | | | ≤ {limit} MB | | {'PASS' if mb <= limit else 'MISS'} |")
    lines.append("")
    if the_floor is not None and lab1 is not None:
        own = lab1.wall - the_floor.wall
        lines.append(f"The floor (bench/floor.py) is what any tool on Invoke and the Docker SDK must do: start "
                     "Python, import Invoke's program and the SDK, connect, create, start, wait for, read and "
                     f"remove one container. Of `invoke lab 1`'s {lab1.wall:.2f} s, {the_floor.wall:.2f} s is "
                     f"the floor's and {own * 1000:.0f} ms ({own / lab1.wall:.0%}) the kit's own; host CPU "
                     f"{the_floor.cpu:.2f} s for the floor, {lab1.cpu:.2f} s for lab 1.")
    if every is not None:
        lines.append(f"`invoke labs` ran {count} labs; its target is 4 × {count}/12 = {4 * count / 12:.2f}× "
                     "`invoke lab 3` (the twelve-lab budget per lab).")
    lines.append(f"`invoke labs` runs {count} labs, {runs} runs, in {containers} containers (runs with one sandbox "
                 "share them).")
    print("\n".join(lines))

    if options.profile:
        print("\n`python -X importtime -m invoke --list`, top-level imports (self ms, cumulative ms):")
        for name, own, cumulative in import_breakdown():
            print(f"  {cumulative:7.1f} {own:7.1f}  {name}")
        for lab in ("1", "3"):
            print(f"\n`python -m cProfile -m invoke lab {lab}`, the host's steps (cumulative):")
            print(profile(lab))
    shutil.rmtree(REPORTS, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
