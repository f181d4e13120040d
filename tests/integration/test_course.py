"""Whole-course commands: report, verify, the index, and the HTML in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from forklab import catalog, commands, pictures
from forklab.console import Terminal
from forklab.settings import Settings
from tests.integration.support import containers_of, signal_once_running
from tests.support import ROOT

pytestmark = pytest.mark.docker
ARTIFACTS = ROOT / "test-artifacts"
ALL_LABS = catalog.find_labs(ROOT / "labs")


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def course(engine, tmp_path_factory):
    """`invoke report` twice into two folders: (first settings, second settings)."""
    made = []
    for name in ("first", "second"):
        settings = Settings.from_config({"reports_dir": str(tmp_path_factory.mktemp(name))}, ROOT)
        code, message = commands.guarded(lambda settings=settings: commands.regenerate(settings, 2, Terminal()))
        assert code == 0, message
        made.append(settings)
    return made


def test_two_reports_have_byte_identical_normalized_parts(course):
    first, second = course
    labs = sorted(p.name for p in first.reports_dir.glob("lab-*"))
    assert labs == [f"lab-{n:02d}" for n in sorted(ALL_LABS)]
    for lab in labs:
        a = (first.reports_dir / lab / "normalized.md").read_bytes()
        b = (second.reports_dir / lab / "normalized.md").read_bytes()
        assert a == b, f"{lab}: the normalized part changed between two runs"
        # ...while the raw data did vary (pids and times are real).
        assert json.loads((first.reports_dir / lab / "result.json").read_text(encoding="utf-8"))["timing"] != \
            json.loads((second.reports_dir / lab / "result.json").read_text(encoding="utf-8"))["timing"]


def test_verify_agrees_with_the_reports_it_just_wrote(course):
    code, out, err = invoke_with_reports(course[0])
    assert code == 0, out + err
    assert out.count(": same") == len(ALL_LABS)


def invoke_with_reports(settings: Settings, *argv: str) -> tuple[int, str, str]:
    env = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(settings.reports_dir)}
    done = subprocess.run([sys.executable, "-m", "invoke", "verify", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_the_index_has_a_row_and_a_link_per_lab(course):
    index_md = (course[0].reports_dir / "index.md").read_text(encoding="utf-8")
    for number in ALL_LABS:
        assert re.search(rf"^\| {number:02d} \| \[.+\]\(lab-{number:02d}/report\.md\) \| \*\*passed\*\* \|",
                         index_md, re.M), f"no row for lab {number}"
    assert "→ **false**" in index_md and "Where the reports were made" in index_md
    index_html = (course[0].reports_dir / "index.html").read_text(encoding="utf-8")
    assert index_html.count('<tr class="lab passed">') == len(ALL_LABS)


def test_an_edited_lab_drifts_and_verify_shows_the_diff(engine, tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", ".venv", "reports", "test-artifacts",
                                                                  "__pycache__"))
    env = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(tmp_path / "reports")}
    run = lambda *argv: subprocess.run([sys.executable, "-m", "invoke", *argv], cwd=checkout, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=300)
    assert run("labs", "--only", "6").returncode == 0
    lab = checkout / "labs" / "06-fork-three-times" / "lab.py"
    lab.write_text(lab.read_text(encoding="utf-8").replace('print("哈哈哈")', 'print("哈哈")'), encoding="utf-8")
    done = run("verify", "--only", "6")
    assert done.returncode == 1
    assert "-哈哈哈\n" in done.stdout and "+哈哈\n" in done.stdout
    assert "lab 06 Three forks, eight processes: drifted" in done.stdout
    assert "building forklab/lab" not in done.stderr, "editing a lab must not rebuild the image"


def test_an_interrupted_report_leaves_the_previous_reports(engine, tmp_path):
    reports = tmp_path / "reports"
    env = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(reports)}
    subprocess.run([sys.executable, "-m", "invoke", "labs", "--only", "1,3"], cwd=ROOT, env=env,
                   capture_output=True, check=True, timeout=300)
    before = snapshot_of(reports)
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "report"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Interrupt once lab 2's containers are running (lab 1 may be done by then).
    signal_once_running(engine, proc, "lab-02", signal.SIGINT)
    assert proc.returncode == 130
    assert snapshot_of(reports) == before
    assert containers_of(engine, "lab-02") == []


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.parametrize("page", ["index.html", "lab-03/report.html", "lab-06/report.html"])
def test_html_loads_in_chromium_with_the_tree(course, page, tmp_path):
    browser = chromium()
    if browser is None:
        message = "headless Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("FORKLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    path = course[0].reports_dir / page
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    assert "</html>" in dom.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    for width, name in ((1280, "desktop"), (390, "phone")):
        shot = ARTIFACTS / f"{page.replace('/', '-').removesuffix('.html')}-{name}.png"
        subprocess.run([*flags, f"--window-size={width},2400", f"--screenshot={shot}", path.as_uri()],
                       capture_output=True, timeout=120, check=True)
        assert shot.stat().st_size > 10_000
    if page.startswith("lab-"):
        result = json.loads((path.parent / "result.json").read_text(encoding="utf-8"))
        first = (result.get("variants") or [result])[0]
        processes = len(pictures.lives(first)[1])
        first_tree = dom.stdout.split('<svg class="tree"')[1].split("</svg>")[0]
        assert first_tree.count('<g class="process') == processes
        assert '<svg class="timeline"' in dom.stdout
