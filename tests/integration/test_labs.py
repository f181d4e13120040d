"""Labs in real containers, checked the way a student checks by eye."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.support import containers_of, signal_once_running
from tests.support import FIXTURE_LABS, ROOT

pytestmark = pytest.mark.docker


def result_of(reports: Path, number: int) -> dict:
    return json.loads((reports / f"lab-{number:02d}" / "result.json").read_text(encoding="utf-8"))


def rows_at(result: dict, checkpoint: str) -> dict[str, dict]:
    snap = next(s for s in result["snapshots"] if s["checkpoint"] == checkpoint)
    return {row["role"]: row for row in snap["processes"]}


def test_lab_3_shows_the_zombie_child_and_the_adopted_orphan(engine, no_leftovers, cli):
    code, out, err = cli("lab", "3")
    assert code == 0, out + err
    result = result_of(cli.reports, 3)
    assert result["status"] == "passed"

    # The zombie is the dead child, with no memory; its parent is alive.
    assert rows_at(result, "child-alive")["child"]["rss_kb"] > 64 * 1024
    zombie = rows_at(result, "zombie")
    assert zombie["child"]["state"] == "Z"
    assert zombie["child"]["command"] == "[python3] <defunct>"
    assert zombie["child"]["rss_kb"] == 0
    assert zombie["parent"]["state"] == "S"
    assert "child" not in rows_at(result, "after-wait")

    # The orphan's parent becomes the reaper: PID 1 of the container, which reaps it.
    assert rows_at(result, "before-orphaned")["orphan"]["ppid"] == result["roles"]["middle"]
    assert rows_at(result, "adopted")["orphan"]["ppid"] == result["roles"]["reaper"] == 1
    reaps = [e for e in result["events"] if e["event"] == "reap" and e["role"] == "orphan"]
    assert [e["by_role"] for e in reaps] == ["reaper"]
    assert not [r for r in result["snapshots"][-1]["processes"] if r["state"] == "Z"]

    # The raw ps text agrees with the parsed rows.
    child_pid = result["roles"]["child"]
    raw = (cli.reports / "lab-03" / "reaper.snapshot-02-zombie.ps.txt").read_text(encoding="utf-8")
    line = next(ps_line for ps_line in raw.splitlines() if ps_line.split()[0] == str(child_pid))
    assert line.split()[3] == "Z" and line.endswith("[python3] <defunct>")

    report = (cli.reports / "lab-03" / "report.md").read_text(encoding="utf-8")
    assert "| **child** | parent | **Z** (zombie) | [python3] &lt;defunct&gt; |" in report
    assert "| **orphan** | reaper | **S** (adopted) |" in report
    assert "Z (zombie)" in out and "passed" in out


def test_the_sandbox_is_what_the_report_says(engine, no_leftovers, cli):
    code, out, err = cli("lab", "1")
    assert code == 0, out + err
    box = result_of(cli.reports, 1)["environment"]["container"]
    assert box["pid1"] == "runner"
    assert box["uid"] == 1000 and box["gid"] == 1000
    assert box["limits"]["pids"] == 64
    assert box["limits"]["memory_bytes"] == 256 * 1024 * 1024
    assert box["read_only_root"] is True
    assert box["network_interfaces"] == ["lo"]
    assert box["capabilities_effective"] == "0000000000000000"
    assert box["no_new_privileges"] is True
    assert box["stdout"] == "pipe" and box["unbuffered"] is False


def test_lab_1_shows_both_return_values(engine, no_leftovers, cli):
    code, out, err = cli("lab", "1")
    assert code == 0, out + err
    result = result_of(cli.reports, 1)
    lines = result["stdout"].splitlines()
    assert "我是子进程<built-in function getpid>,我的父进程是<built-in function getppid>" in lines
    child = result["roles"]["child"]
    parent = result["roles"]["parent"]
    # The parent's line names the pid the child reports as its own.
    assert f"我是父进程{parent},我创建了子进程{child}" in lines
    assert f"我是子进程{child},我的父进程是{parent}" in lines
    assert rows_at(result, "in-child")["child"]["ppid"] == parent


@pytest.mark.parametrize("number, status, seen", [
    (1, "error", "RuntimeError: this lab fails on purpose"),
    (2, "timeout", "the child loops forever"),
    (3, "failed", "哈哈哈"),
    (4, "failed", ""),
])
def test_a_lab_that_goes_wrong_still_gets_a_report(engine, no_leftovers, cli, number, status, seen):
    code, out, err = cli("lab", str(number), labs=FIXTURE_LABS)
    assert code == 1, out + err
    result = result_of(cli.reports, number)
    assert result["status"] == status
    assert seen in result["stdout"] + result["stderr"]
    assert (cli.reports / f"lab-{number:02d}" / "report.md").read_text(encoding="utf-8") \
        .startswith(f"# Lab {number:02d}")


def test_without_a_reaper_the_orphan_stays_a_zombie_of_pid_1(engine, no_leftovers, cli):
    cli("lab", "4", labs=FIXTURE_LABS)
    result = result_of(cli.reports, 4)
    end = rows_at(result, "end")
    assert end["orphan"]["state"] == "Z" and end["orphan"]["ppid"] == 1
    assert result["environment"]["container"]["reaper"] is False


def test_ctrl_c_removes_the_container_and_keeps_the_last_report(engine, tmp_path):
    reports = tmp_path / "reports"
    env = {**os.environ, "INVOKE_FORKLAB_LABS_DIR": str(FIXTURE_LABS),
           "INVOKE_FORKLAB_REPORTS_DIR": str(reports)}
    command = [sys.executable, "-m", "invoke", "lab", "2"]
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False, timeout=120)
    before = {str(p.relative_to(reports)): p.read_bytes() for p in reports.rglob("*") if p.is_file()}

    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = signal_once_running(engine, proc, "lab-02", signal.SIGINT)
    assert proc.returncode == 130
    assert b"interrupted" in err
    assert not containers_of(engine, "lab-02")
    after = {str(p.relative_to(reports)): p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in reports.iterdir()) == ["index.html", "index.md", "lab-02"]


def test_an_unchanged_image_is_not_rebuilt(engine, monkeypatch):
    from forklab.settings import Settings

    settings = Settings.from_config({}, ROOT)
    base = engine.resolve_base(settings.base_image, None, lambda _: None, pull=False)
    tag, image_id = engine.ensure_image(base, lambda _: None, lambda _: None)

    def no_build(*args, **kwargs):
        raise AssertionError("the image was rebuilt although nothing changed")

    monkeypatch.setattr(engine.client.api, "build", no_build)
    assert engine.ensure_image(base, lambda _: None, lambda _: None) == (tag, image_id)


def test_labs_reports_every_lab_even_when_they_fail(engine, no_leftovers, cli):
    code, out, err = cli("labs", "--jobs", "2", labs=FIXTURE_LABS)
    assert code == 1
    statuses = dict(re.findall(r"^(\d\d) .+? (passed|failed|error|timeout) +\d+ of \d+", out, re.M))
    assert statuses == {"01": "error", "02": "timeout", "03": "failed", "04": "failed", "05": "passed",
                        "06": "passed"}
    assert "2 of 6 labs passed" in out
    index = (cli.reports / "index.md").read_text(encoding="utf-8")
    for number, status in statuses.items():
        assert f"| {number} | [" in index and f"| **{status}** |" in index


def test_predict_then_observe(engine, no_leftovers, cli):
    code, out, err = cli("lab", "6", "--predict", "--answer", "8", "--answer", "7")
    assert code == 0, out + err
    assert "your predictions: 1 of 2 right" in out
    report = (cli.reports / "lab-06" / "report.md").read_text(encoding="utf-8")
    assert "| ✓ | How many lines of 哈哈哈 does the tutorial's program print? | 8 | 8 |" in report
    assert "| ✗ | How many processes do three fork() calls make? | 7 | 8 |" in report


def test_repeat_reports_the_distribution(engine, no_leftovers, cli):
    code, out, err = cli("lab", "6", "--repeat", "5")
    assert code == 0, out + err
    result = json.loads((cli.reports / "lab-06-repeat" / "result.json").read_text(encoding="utf-8"))
    for variant in result["repeat"]["variants"]:
        assert variant["runs"] == 5
        assert all(check["passed"] == 5 for check in variant["checks"])
        assert len(variant["trees"]) == 1 and variant["trees"][0]["count"] == 5
    assert "5 of 5" in out and "repeated 5 times" in out
    assert not (cli.reports / "lab-06").exists(), "a repeat run does not replace the lab's report"


def test_chaos_with_a_seed_repeats_its_distribution(engine, no_leftovers, cli):
    seen = []
    for _ in range(2):
        code, out, err = cli("lab", "1", "--repeat", "20", "--chaos", "--seed", "1")
        assert code == 0, out + err
        result = json.loads((cli.reports / "lab-01-repeat" / "result.json").read_text(encoding="utf-8"))
        seen.append({row["text"]: row["count"] for row in result["repeat"]["variants"][0]["first_lines"]})
        assert result["repeat"]["chaos"]["seed"] == 1
    assert seen[0] == seen[1]
    firsts = " ".join(seen[0])
    assert "我是父进程" in firsts and "我是子进程" in firsts, "both orders show up"


def test_lab_3_pictures_come_from_evidence_and_its_normalized_report_stays_the_same(engine, no_leftovers, cli):
    from forklab import pictures

    normalized = []
    for _ in range(2):
        code, out, err = cli("lab", "3")
        assert code == 0, out + err
        normalized.append((cli.reports / "lab-03" / "normalized.md").read_bytes())
    assert normalized[0] == normalized[1], "the trees say only what every run shows alike"
    result = result_of(cli.reports, 3)
    reaper, never = (next(v for v in result["variants"] if v["variant"]["name"] == name)
                     for name in ("reaper", "pid1-never-waits"))
    for run in (reaper, never):
        # The child: the runner saw its zombie (at the checkpoint at the latest), then
        # saw it gone while the parent lived on; the tree names the parent as its reaper.
        [zombie] = [e for e in run["events"] if e["event"] == "zombie" and e["role"] == "child"]
        [gone] = [e for e in run["events"] if e["event"] == "gone" and e["role"] == "child"]
        assert zombie["ppid_role"] == "parent" and (gone["state"], gone["ppid_role"], gone["ppid_alive"]) == \
            ("Z", "parent", True)
        looked = next(s["rows_ms"] for s in run["snapshots"] if s["checkpoint"] == "zombie")
        assert zombie["t_ms"] <= looked[1] < gone["t_ms"]
        [line] = [line for line in pictures.text_tree(run) if "── child " in line]
        assert line.endswith("zombie at checkpoint `zombie` · reaped by parent")
    # PID 1 never waits: the orphan's life ends as a zombie, drawn to the end, never reaped.
    reaper_pid, found = pictures.lives(never)
    [orphan] = [one for one in found.values() if one.role == "orphan"]
    spans = pictures.spans(orphan, pictures._run_end(never, found))
    assert spans[-1].kind == "zombie" and spans[-1].end == pictures._run_end(never, found)
    assert [e["event"] for e in never["events"] if e["role"] == "orphan"][-1] == "zombie"
    [line] = [line for line in pictures.text_tree(never) if "── orphan " in line]
    assert line.endswith("never reaped (still a zombie at the end)")
    html = (cli.reports / "lab-03" / "report.html").read_text(encoding="utf-8")
    assert 'class="never">never reaped</text>' in html
