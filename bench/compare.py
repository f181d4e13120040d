"""Two checkouts of the kit, timed against each other in the same minutes.

    .venv/bin/python bench/compare.py OTHER_CHECKOUT              # 7 rounds, 3 of `invoke labs`
    .venv/bin/python bench/compare.py OTHER_CHECKOUT --rounds 3 --labs-rounds 1

OTHER_CHECKOUT is another copy of the repository, e.g. an older commit:
`git clone -q . /tmp/old && git -C /tmp/old checkout -q 307b84c`.  Each round runs a
bare `docker run --rm IMAGE python3 -c pass`, then `invoke lab 1`, `invoke lab 3` and
`invoke --list` in the other checkout and in this one, one after the other; then
`invoke labs` in both.  Each is `python -m invoke …` with this venv's Python, in its
checkout (so each runs its own code and image) and with a reports folder of its own;
a first, unmeasured `invoke lab 1` and `invoke lab 3` in each builds what they need.
It prints the median wall time and host CPU (user + system, wait4) of each.  Nothing
here asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def timed(command: list[str], cwd: Path, reports: Path) -> tuple[float, float]:
    env = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(reports)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's shell has it
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return time.monotonic() - started, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="another checkout of the kit")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--labs-rounds", type=int, default=3)
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="forklab-compare-"))
    sides = {"other": (options.other.resolve(), scratch / "other"), "this": (ROOT, scratch / "this")}
    for cwd, reports in sides.values():
        for number in ("1", "3"):
            timed([PYTHON, "-m", "invoke", "lab", number], cwd, reports)
    image = subprocess.run(["docker", "images", "forklab/lab", "--format", "{{.Repository}}:{{.Tag}}"],
                           capture_output=True, text=True, check=True).stdout.split()[0]
    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(options.rounds):
        rows.setdefault("bare docker run", []).append(
            timed(["docker", "run", "--rm", image, "python3", "-c", "pass"], scratch, scratch))
        for argv in (["lab", "1"], ["lab", "3"], ["--list"]):
            for side, (cwd, reports) in sides.items():
                rows.setdefault(f"{side}: invoke {' '.join(argv)}", []).append(
                    timed([PYTHON, "-m", "invoke", *argv], cwd, reports))
    for _ in range(options.labs_rounds):
        for side, (cwd, reports) in sides.items():
            rows.setdefault(f"{side}: invoke labs", []).append(timed([PYTHON, "-m", "invoke", "labs"], cwd, reports))
    print(f"other: {options.other} · this: {ROOT} · {options.rounds} rounds ({options.labs_rounds} of labs)")
    for name, samples in rows.items():
        walls = sorted(wall for wall, _ in samples)
        cpu = statistics.median(used for _, used in samples)
        print(f"{name:28s} wall {statistics.median(walls):6.3f} s  CPU {cpu:6.3f} s"
              f"  ({', '.join(f'{wall:.2f}' for wall in walls)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
