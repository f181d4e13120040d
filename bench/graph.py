"""How long forklab.graph takes to count the outputs of `for i in range(N): fork()`.

    .venv/bin/python bench/graph.py            # from the checkout; no Docker needed

Result on 2026-12-01 (2 cores, Python 3.11, the machine busy with other work,
load average about 20), `.venv/bin/python bench/graph.py`:

    range(3), 8 processes, own lines: 104 ms, 81729648000 outputs
    range(4), 16 processes, the same lines: 16 ms, 35357670 outputs
    range(4), 16 processes, own lines: 1874 ms, too many to count

Each process of ``for i in range(n): os.fork()`` then prints two lines: its
own two (every line differs, so nothing can be merged) or the same two as
every other (``hello``, ``bye``: processes merge).  With n = 3 that is 8
processes and 16 lines, counted exactly; with n = 4, 16 processes and 32
lines of their own, past the budget: the time is how long count() takes to
give up.  Each time is the median of 3 runs on a fresh Graph.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forklab.graph import Graph  # noqa: E402

RUNS = 3


def loop_record(n: int, own_lines: bool) -> list[dict]:
    """The record of ``for i in range(n): os.fork()`` followed by two prints, one write each.

    A process forked at i goes on with i + 1, so it forks n - i - 1 children.
    """
    processes: list[dict] = []

    def run(name: str, parent, start: int) -> None:
        events: list[tuple[str, str]] = []
        processes.append({"name": name, "parent": parent, "events": events})
        for index, _i in enumerate(range(start, n), start=1):
            child = f"{name}.{index}"
            events.append(("fork", child))
            run(child, name, _i + 1)
        first, second = (f"{name} one", f"{name} two") if own_lines else ("hello", "bye")
        events += [("write", first + "\n"), ("write", second + "\n")]

    run("main", None, 0)
    return processes


def timed(record: list[dict]) -> tuple[float, object, str]:
    """The median time of count() on a fresh Graph, its answer and its reason."""
    times, graph = [], None
    for _ in range(RUNS):
        graph = Graph(record)
        start = time.perf_counter()
        graph.count()
        times.append(time.perf_counter() - start)
    assert graph is not None, "RUNS is at least 1"
    return statistics.median(times), graph.count(), graph.reason or ""


def main() -> None:
    for n, own in ((3, True), (4, False), (4, True)):
        record = loop_record(n, own)
        seconds, count, reason = timed(record)
        lines = "own lines" if own else "the same lines"
        answer = f"{count} outputs" if count is not None else reason.split(":")[0]
        print(f"range({n}), {len(record)} processes, {lines}: {seconds * 1000:.0f} ms, {answer}")


if __name__ == "__main__":
    main()
