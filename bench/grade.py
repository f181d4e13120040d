"""`invoke grade` on a class of 100: time per submission and the host's peak memory.

    .venv/bin/python bench/grade.py            # from the checkout; a Docker engine must answer

Makes 100 submissions of exercise 13 in a temporary folder (the solution, the
starter, programs that reap in the wrong order, crash, do not parse, forget
the checkpoint, one endless loop, and folders that are empty, hold two
programs, a binary or a link out), grades them with `invoke grade 13 DIR
--jobs 2` in a fresh reports folder, then once more (every student skipped).
Each command is timed as a whole process; the peak RSS is the ru_maxrss of
this script's children (getrusage), which are only these commands.  The section "invoke grade: a class of 100" of
bench/RESULTS.md is written (replaced if there is one); the rest of the file
is kept.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
EXERCISE = ROOT / "labs" / "13-reap-in-order"
HEADING = "## invoke grade: a class of 100"
COMMAND = ".venv/bin/python bench/grade.py"
JOBS = 2
#: Targets: seconds per submission, and the host process's peak RSS.
TARGET_S, TARGET_MB = 0.5, 150

SOLUTION = (EXERCISE / "solution.py").read_text(encoding="utf-8")
STARTER = (EXERCISE / "starter.py").read_text(encoding="utf-8")
#: What each kind of submission is, and how many of the class hand it in.
KINDS = {
    "solution": 40,
    "starter": 15,
    "wait-order": 10,    # os.wait(): reaps whichever child ends first, so in the wrong order
    "syntax": 8,         # does not parse
    "crash": 8,          # forks, reaps, then raises
    "no-checkpoint": 8,  # right order, but never marks the checkpoint the hidden checks look at
    "loop": 1,           # never ends: costs the exercise's timeout
    "empty": 3,          # an empty folder
    "two": 3,            # two programs, neither named as the grader expects
    "binary": 2,         # NUL bytes
    "link": 2,           # a symbolic link out of the folder
}


def make_class(folder: Path) -> dict[str, str]:
    """The 100 students' folders, in a shuffled order; {student: kind}."""
    kinds = [kind for kind, count in KINDS.items() for _ in range(count)]
    random.Random(13).shuffle(kinds)
    students = {}
    for number, kind in enumerate(kinds, start=1):
        student = folder / f"student-{number:03d}"
        student.mkdir()
        students[student.name] = kind
        program = student / "main.py"
        if kind == "solution":
            program.write_text(SOLUTION, encoding="utf-8")
        elif kind == "starter":
            program.write_text(STARTER, encoding="utf-8")
        elif kind == "wait-order":
            program.write_text(SOLUTION.replace("pid, status = os.waitpid(pid, 0)", "pid, status = os.wait()"),
                               encoding="utf-8")
        elif kind == "syntax":
            program.write_text(SOLUTION.replace("for number in range(1, N + 1):", "for number in range(1, N + 1)"),
                               encoding="utf-8")
        elif kind == "crash":
            program.write_text(SOLUTION.replace('checkpoint("all-reaped", parent=os.getpid())',
                                                'raise RuntimeError("done too soon")'), encoding="utf-8")
        elif kind == "no-checkpoint":
            program.write_text(SOLUTION.replace('checkpoint("all-reaped", parent=os.getpid())', "pass"),
                               encoding="utf-8")
        elif kind == "loop":
            program.write_text("while True:\n    pass\n", encoding="utf-8")
        elif kind == "two":
            (student / "a.py").write_text(SOLUTION, encoding="utf-8")
            (student / "b.py").write_text(STARTER, encoding="utf-8")
        elif kind == "binary":
            program.write_bytes(b"\x7fELF\0\0\0")
        elif kind == "link":
            program.symlink_to("/etc/hostname")
    return students


def grade(submissions: Path, reports: Path, *extra: str) -> tuple[float, int, float, subprocess.CompletedProcess]:
    """(wall seconds, peak RSS in MB, the host process's CPU seconds, the process) of one `invoke grade`."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(reports)}
    command = [PYTHON, "-m", "invoke", "grade", "13", str(submissions), "--jobs", str(JOBS), *extra]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate()
    seconds = time.monotonic() - started
    # communicate() has reaped it; its rusage is among this process's children, which are only these commands.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = after.ru_maxrss // 1024
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    done = subprocess.CompletedProcess(command, process.returncode, out.decode(), err.decode())
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds, peak, cpu, done


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    engine = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                            text=True).stdout.strip() or "?"
    return (f"{platform.system()} {platform.release()} ({platform.machine()}), {cpu}, {os.cpu_count()} cores; "
            f"Docker Engine {engine}; host Python {platform.python_version()}")


def write_section(text: str) -> None:
    """bench/RESULTS.md with this section in place of an earlier one of the same heading, the rest kept."""
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if HEADING in old:
        before, _, after = old.partition(HEADING)
        # The section ends where the next one of its level (or a higher one) starts.
        rest = after.split("\n## ", 1)
        after = "\n## " + rest[1] if len(rest) > 1 else ""
        old = before.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + after
    else:
        old = old.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    path.write_text(old, encoding="utf-8")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="forklab-bench-grade-"))
    try:
        # Warm: the image is there (built once, as before any class) and the first import is paid.
        warm = work / "warm"
        warm.mkdir()
        (warm / "one.py").write_text(SOLUTION, encoding="utf-8")
        grade(warm, work / "warm-reports")

        submissions = work / "class"
        submissions.mkdir()
        students = make_class(submissions)
        reports = work / "reports"
        seconds, peak, cpu, done = grade(submissions, reports)
        again_seconds, _peak, _cpu, again = grade(submissions, reports)
        rows = [json.loads((reports / "grade-13" / s / "grade.json").read_text(encoding="utf-8")) for s in students]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ran = [row for row in rows if row["status"] in ("graded", "no credit")]
    per_student = [row["seconds"] for row in ran]
    by_kind: dict[str, list] = {}
    for row in rows:
        by_kind.setdefault(students[row["student"]], []).append(row)
    count = len(rows)
    per = seconds / count
    lines = [HEADING, "",
             f"Made by `{COMMAND}` on {time.strftime('%Y-%m-%d')}: `invoke grade 13 CLASS --jobs {JOBS}` on 100 "
             f"submissions of exercise 13 ({len(ran)} run in a container, {count - len(ran)} refused before), "
             "timed as a whole process, then the same command again.", "",
             f"Machine: {machine()}.", "",
             "| measure | measured | target | met |", "|---|---|---|---|",
             f"| wall time per submission (all {count}) | {per:.2f} s | ≤ {TARGET_S} s | "
             f"{'yes' if per <= TARGET_S else '**no**'} |",
             f"| wall time per submission that ran ({len(ran)}) | {seconds / len(ran):.2f} s | | |",
             f"| the whole class | {seconds:.1f} s | | |",
             f"| one student, container to written report (median; {JOBS} at a time) | "
             f"{statistics.median(per_student):.2f} s | | |",
             f"| CPU time of the host process, per submission | {cpu / count * 1000:.0f} ms | | |",
             f"| peak host RSS | {peak} MB | ≤ {TARGET_MB} MB | {'yes' if peak <= TARGET_MB else '**no**'} |",
             f"| the same command again (every student skipped) | {again_seconds:.2f} s | | |", "",
             "Scores by kind of submission (the gradebook's rows):", "",
             "| kind | students | score | status |", "|---|---|---|---|"]
    for kind in KINDS:
        kind_rows = by_kind.get(kind, [])
        counts: dict[int, int] = {}
        for row in kind_rows:
            counts[row["score"]] = counts.get(row["score"], 0) + 1
        scores = [f"{score} of {kind_rows[0]['total']} ×{n}" for score, n in sorted(counts.items(), reverse=True)]
        statuses = sorted({row["status"] for row in kind_rows})
        lines.append(f"| {kind} | {len(kind_rows)} | {', '.join(scores)} | {', '.join(statuses)} |")
    skipped = next((line for line in again.stderr.splitlines() if line.startswith("skipped ")), "")
    median = statistics.median(per_student)
    lines += ["", f"The second call said: `{skipped.strip()}`.", "",
              f"Where the time goes: a student's container, made, run and removed, is most of their {median:.2f} s "
              f"(the host process's CPU, its start, the checks, reports and gradebook included, is "
              f"{cpu / count * 1000:.0f} ms per submission); "
              f"{JOBS} run at a time on {os.cpu_count()} cores, so containers alone come to about "
              f"{median / JOBS:.2f} s per submission that runs. The one endless loop holds a slot for the "
              "exercise's 10 s timeout while the other slot goes on; the submissions refused before running "
              "cost no container. The engine is shared: anything else running containers on it at the same "
              "time slows the class down."]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
