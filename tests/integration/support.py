"""What the integration tests share that is not a fixture (fixtures live in conftest.py).

Import these from here, never from a conftest module or another test module.
"""

from __future__ import annotations


def containers_of(engine, report_name: str) -> list:
    """The kit's containers that are running (or left) for reports/REPORT_NAME (a container that
    runs several labs names them all, comma-separated)."""
    return [c for c in engine.leftovers() if report_name in c.labels.get("org.forklab.lab", "").split(",")]


def signal_once_running(engine, proc, report_name: str, signum: int, timeout: float = 120) -> tuple[str, str]:
    """Send ``signum`` to ``proc`` as soon as its container for REPORT_NAME exists; return its output.

    It polls the engine for the container: a condition, not a guessed delay.
    """
    import time

    try:
        deadline = time.monotonic() + timeout
        while not containers_of(engine, report_name):
            assert proc.poll() is None, f"it ended before a {report_name} container ran"
            assert time.monotonic() < deadline, f"no {report_name} container appeared"
            time.sleep(0.02)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return out, err


def variant(result_doc: dict, name: str) -> dict:
    return next(v for v in result_doc["variants"] if v["variant"]["name"] == name)


def rows_at(run: dict, checkpoint: str) -> dict[str, dict]:
    snap = next(s for s in run["snapshots"] if s["checkpoint"] == checkpoint)
    return {row["role"]: row for row in snap["processes"]}


def events_of(run: dict, kind: str, role: str) -> list[dict]:
    return [e for e in run["events"] if e["event"] == kind and e["role"] == role]


def exit_of(run: dict, role: str) -> dict:
    [event] = events_of(run, "exit", role)
    return event["status"]


def lab_3_here_then(cli, switch) -> str:
    """Lab 3 on the engine under test, then again after ``switch()`` points forklab elsewhere.

    Both must pass with the same normalized.md, byte for byte; returns the
    second run's report.md.
    """
    code, out, err = cli("lab", "3")
    assert code == 0, out + err
    local = (cli.reports / "lab-03" / "normalized.md").read_bytes()
    switch()
    code, out, err = cli("lab", "3")
    assert code == 0, out + err
    assert (cli.reports / "lab-03" / "normalized.md").read_bytes() == local
    return (cli.reports / "lab-03" / "report.md").read_text(encoding="utf-8")
