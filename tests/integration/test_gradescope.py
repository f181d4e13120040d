"""`invoke autograder N`'s zip, run as Gradescope runs it: no engine inside, the runner run directly.

An image per exercise (13, and 14 for its orphan) is built once per session
from the kit's base, laid out as Gradescope documents it: the zip unzipped
into /autograder/source, setup.sh run there as root at build time (it
pip-installs the checks' dependencies from PyPI: a layer before it warms pip's
cache with them, so a changed kit does not download them again),
run_autograder copied to /autograder/.  Each case is a fresh
container of that image (as Gradescope gives each submission), the program put
in /autograder/submission and /autograder/run_autograder run as root, without
Docker; the test reads /autograder/results/results.json.  Every container is
labelled org.forklab.managed=true and removed; the images stay, labelled, for
the next session's cache (`invoke clean --images` removes them).
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid

import pytest

from forklab import autograder, catalog
from forklab import engine as engine_module
from tests.integration.private_engine import base_of
from tests.support import ROOT

pytestmark = pytest.mark.docker

IMAGE = "forklab/gradescope-layout"
EXERCISE = ROOT / "labs" / "13-reap-in-order"
#: How long one run may take before the test gives up on the container (the exercise's timeout is 10 s).
RUN_LIMIT_S = 300

UNZIP = """\
# What Gradescope does with the zip: unzip it, keeping the files' Unix permissions (as unzip does).
import os
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as archive:
    for info in archive.infolist():
        path = archive.extract(info, sys.argv[2])
        mode = (info.external_attr >> 16) & 0o7777
        if mode:
            os.chmod(path, mode)
"""

DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
LABEL org.forklab.managed=true
# The offline base carries the host's trust store, for networks that inspect TLS.
COPY requirements.txt /tmp/forklab-requirements.txt
RUN set -e; \\
    host_ca=/usr/local/share/ca-certificates/ca-certificates.crt; \\
    if [ -f "$host_ca" ]; then export PIP_CERT="$host_ca"; fi; \\
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \\
        --target /tmp/warm -r /tmp/forklab-requirements.txt; \\
    rm -rf /tmp/warm
COPY unzip.py autograder.zip /tmp/
RUN set -e; \\
    host_ca=/usr/local/share/ca-certificates/ca-certificates.crt; \\
    if [ -f "$host_ca" ]; then export PIP_CERT="$host_ca"; fi; \\
    mkdir -p /autograder/source /autograder/submission /autograder/results; \\
    python3 /tmp/unzip.py /tmp/autograder.zip /autograder/source; \\
    cd /autograder/source && ./setup.sh; \\
    cp /autograder/source/run_autograder /autograder/run_autograder; \\
    rm /tmp/unzip.py /tmp/autograder.zip
WORKDIR /autograder
"""


def _context(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


@pytest.fixture(scope="session")
def gradescope_images(engine):
    """Exercise NN's autograder image (tagged forklab/gradescope-layout:NN), built once per session."""
    built: dict[str, str] = {}

    def image_of(folder) -> str:
        if folder.name in built:
            return built[folder.name]
        lab = catalog.load_lab(folder)
        files = autograder.zip_files(lab)
        context = _context({"Dockerfile": DOCKERFILE.encode(), "unzip.py": UNZIP.encode(),
                            "requirements.txt": files["requirements.txt"][0],
                            "autograder.zip": autograder.zip_bytes(files)})
        tag = f"{IMAGE}:{lab.number:02d}"
        before = engine.find_image(tag)
        try:
            image, _ = engine.client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True,
                                                  forcerm=True, buildargs={"BASE_IMAGE": base_of(engine)},
                                                  labels={engine_module.LABEL: "true"})
        except Exception as exc:  # docker.errors.BuildError: its last lines say why
            log = "".join(str(chunk.get("stream", chunk.get("error", "")))
                          for chunk in getattr(exc, "build_log", []))
            pytest.fail(f"the Gradescope-layout image did not build: {exc}\n{log[-3000:]}", pytrace=False)
        if before is not None and before.id != image.id:
            try:
                engine.client.images.remove(before.id)  # the last session's, replaced; its shared layers stay
            except Exception:  # noqa: BLE001 - still used by a container elsewhere: leave it
                pass
        built[folder.name] = image.id
        return image.id

    return image_of


@pytest.fixture
def grade_in_gradescope(engine, gradescope_images):
    """Run /autograder/run_autograder on one submission in a fresh container; results.json and the log.

    The container is removed whatever happens, and the test checks that it is gone (by its own
    label: other runs may use the engine at the same time).
    """

    def run(files: dict[str, str], cap_add: tuple = (), exercise=EXERCISE) -> tuple[dict, str]:
        image = gradescope_images(exercise)
        run_id = uuid.uuid4().hex[:12]
        container = engine.client.containers.create(
            image, ["/autograder/run_autograder"], user="root", cap_add=list(cap_add),
            name=f"forklab-gradescope-{run_id}",
            labels={engine_module.LABEL: "true", engine_module.RUN_LABEL: run_id,
                    engine_module.LAB_LABEL: "gradescope-layout"})
        try:
            container.put_archive("/autograder/submission",
                                  _context({name: text.encode("utf-8") for name, text in files.items()}))
            container.start()
            status = container.wait(timeout=RUN_LIMIT_S)
            log = container.logs().decode("utf-8", "replace")
            assert status["StatusCode"] == 0, log
            stream, _ = container.get_archive("/autograder/results/results.json")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                results = json.loads(tar.extractfile("results.json").read())
        finally:
            container.remove(force=True)
            left = engine.client.api.containers(all=True, filters={"label": f"{engine_module.RUN_LABEL}={run_id}"})
            assert not left, f"the container was left behind: {left}"
        return results, log

    return run


def _check_shape(results: dict) -> None:
    assert results["max_score"] == 16 and len(results["tests"]) == 12
    assert sum(test["max_score"] for test in results["tests"]) == 16
    assert results["score"] == sum(test["score"] for test in results["tests"])
    assert [test["visibility"] for test in results["tests"]].count("after_published") == 5


def test_the_solution_earns_full_marks_under_the_sandbox_it_can_set(grade_in_gradescope):
    results, log = grade_in_gradescope({"13-reap-in-order.py": (EXERCISE / "solution.py").read_text("utf-8")})
    _check_shape(results)
    assert results["score"] == 16, results
    assert all(test["status"] == "passed" for test in results["tests"]), results["tests"]
    lines = results["output"].splitlines()
    assert lines[:2] == ["score: 16 of 16 points", "hidden checks: 5 of 5 passed"]
    # A default container grants no CAP_SYS_ADMIN: no network namespace, and it says so.
    assert lines[-1] == ("sandbox: as the user forklab-grader, at most 64 processes at once (RLIMIT_NPROC), "
                        "256 MiB of address space per process (RLIMIT_AS), files up to 64 MiB, no core files, "
                        "10 s, the network NOT cut off (this container does not allow a network namespace: "
                        "unshare: Operation not permitted)")
    assert "16 of 16 points" in log


def test_the_starter_earns_little_and_where_allowed_runs_without_network(grade_in_gradescope):
    results, _ = grade_in_gradescope({"starter.py": (EXERCISE / "starter.py").read_text("utf-8")},
                                     cap_add=("SYS_ADMIN",))
    _check_shape(results)
    assert results["score"] <= 4, results
    assert results["output"].splitlines()[-1].endswith(", 10 s, no network (a network namespace of its own)")
    failed = [test for test in results["tests"] if test["visibility"] == "visible" and test["status"] == "failed"]
    assert failed and any("hint: " in test["output"] for test in failed)


@pytest.mark.parametrize("source, reason", [
    ("import os\ndef reap(:\n    pass\n", "mine.py does not parse: SyntaxError: "),
    ("while True:\n    pass\n", "it was still running after 10 s: an endless loop"),
    ((ROOT / "tests" / "hostile" / "fork_bomb.py").read_text(encoding="utf-8"),
     "it reached the pids limit (64 processes at once)"),
], ids=["does-not-parse", "endless-loop", "fork-bomb"])
def test_a_program_that_does_not_parse_loops_or_fork_bombs_earns_nothing(grade_in_gradescope, source, reason):
    results, _ = grade_in_gradescope({"mine.py": source})
    _check_shape(results)
    assert results["score"] == 0
    assert all(test["score"] == 0 and test["status"] == "failed" for test in results["tests"])
    line = results["output"].splitlines()[1]
    assert line.startswith(reason) and line.endswith("(so no check counts)"), results["output"]


TAMPER = """\
import os
import sys

refused = 0
try:
    with open("/autograder/results/results.json", "w") as f:
        f.write('{"score": 100, "tests": []}')
except OSError:
    refused += 1
try:
    open("/autograder/source/kit/labs/13-reap-in-order/lab.yaml").read()
except OSError:
    refused += 1
sys.exit(0 if refused == 2 and os.getuid() != 0 else 3)
"""


def test_the_submission_can_neither_write_its_result_nor_read_the_hidden_checks(grade_in_gradescope):
    results, _ = grade_in_gradescope({"mine.py": TAMPER})
    _check_shape(results)
    [exit_test] = [test for test in results["tests"] if test["name"] == "the parent exits with code 0"]
    assert exit_test["status"] == "passed", exit_test
    assert results["score"] < 16


def test_an_orphan_is_adopted_and_reaped_by_the_runner_a_child_subreaper(grade_in_gradescope):
    exercise = ROOT / "labs" / "14-zombie-and-orphan"
    results, _ = grade_in_gradescope({"mine.py": (exercise / "solution.py").read_text("utf-8")}, exercise=exercise)
    assert results["score"] == results["max_score"] == 13, results
    adopted = next(test for test in results["tests"] if test["name"].startswith("after the middle process died"))
    printed = next(test for test in results["tests"] if test["name"] == "the orphan prints its new parent: PID 1")
    assert adopted["status"] == printed["status"] == "passed"
