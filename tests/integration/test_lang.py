"""`invoke lab 3 --lang zh` in a real container: a Chinese terminal and report, the same normalized.md every run."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.docker

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_lab_3_in_chinese(engine, no_leftovers, cli):
    folder = cli.reports / "lab-03"
    code, out, err = cli("lab", "3", "--lang", "zh", "-v")
    assert code == 0, out + err
    first = (folder / "normalized.md").read_bytes()

    # The terminal: Chinese words around the run's own names and commands.
    assert out.startswith("实验 03 · Zombies and orphans\n")
    assert "✓ [reaper] 僵尸进程是死掉的子进程,而不是父进程" in out
    assert "快照 'zombie'" in out and "Z (僵尸进程)" in out and "[python3] <defunct>" in out
    assert "通过 · 报告:" in out and "passed" not in out

    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "**状态:通过** · 2 个变体,19 项检查中 19 项通过" in report
    assert "## 各变体并排对比" in report and "## 检查" in report and "# 本次运行的测量" in report
    assert "| **child** | parent | **Z** (僵尸进程) | [python3] &lt;defunct&gt; |" in report
    assert "| ✓ | [pid1-never-waits] 孤儿进程最后成了永远没人回收的僵尸进程 |" in report
    assert "预期检查点 adopted 时 orphan 的父进程是 reaper;实际是 reaper" in report
    checks = json.loads((folder / "result.json").read_text(encoding="utf-8"))["checks"]
    assert checks and all(CJK.search(check["name"]) and CJK.search(check["detail"]) for check in checks)

    # A second run: other pids and times, the same normalized report, byte for byte.
    code, out, err = cli("lab", "3", "--lang", "zh")
    assert code == 0, out + err
    assert (folder / "normalized.md").read_bytes() == first

    # verify, asked in English, makes the report again in Chinese, the language it was made in.
    code, out, err = cli("verify", "--only", "3")
    assert code == 0, out + err
    assert "lab 03 Zombies and orphans: same" in out
