"""The tasks as a user calls them: exit codes and one-line messages (no engine needed)."""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import tasks
from forklab import catalog, engine
from forklab.host import images
from forklab.settings import debian_arch
from tests.support import ROOT, linux_only


def test_the_pinned_task_names_exist():
    names = set(tasks.ns.task_names)
    assert {"lab", "list", "build", "base", "shell", "clean"} <= names


@pytest.mark.parametrize("argv, expected", [
    (["lab", "abc"], "forklab: 'abc' is not a lab number; the labs are 01-fork-returns"),
    (["lab", "99"], "forklab: there is no lab 99; the labs are 01-fork-returns"),
    (["shell", "x"], "forklab: 'x' is not a lab number"),
])
def test_bad_lab_numbers_exit_2_with_one_line(cli, argv, expected):
    code, out, err = cli(*argv)
    assert code == 2
    assert err.startswith(expected)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not cli.reports.exists(), "nothing is written for bad input"


# docker-py does not close its socket when connecting to a missing unix socket
# fails; collect it here so the warning does not land on a later test.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_engine_exits_3_and_says_how_to_start_one(cli, monkeypatch):
    import gc

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    code, out, err = cli("lab", "3")
    gc.collect()
    assert code == 3
    assert err.startswith("forklab: no container engine answers at unix:///nonexistent/docker.sock")
    assert "start" in err and err.count("\n") == 1


def test_a_bad_lab_yaml_exits_2_naming_file_and_key(cli, tmp_path, monkeypatch):
    labs = tmp_path / "labs"
    (labs / "04-broken").mkdir(parents=True)
    (labs / "04-broken" / "lab.py").write_text("", encoding="utf-8")
    (labs / "04-broken" / "lab.yaml").write_text(
        "number: 4\ntitle: t\nsummary: s\nrun: {timeout: -1}\nexpect: [{check: no-zombies-at-end}]\n",
        encoding="utf-8")
    code, out, err = cli("lab", "4", labs=labs)
    assert code == 2
    err = err.replace("\\", "/")
    assert "04-broken/lab.yaml: run.timeout: " in err and "greater than 0" in err and err.count("\n") == 1


def test_list_shows_every_lab(cli):
    code, out, err = cli("list")
    assert code == 0
    for number, path in catalog.find_labs(ROOT / "labs").items():
        assert f"{number:02d}" in out
        assert catalog.load_lab(path).spec.title in out


def test_unknown_option_is_a_usage_error(cli):
    code, out, err = cli("lab", "3", "--colour")
    assert code != 0 and "--colour" in err + out


def test_the_image_depends_on_the_runner_and_base_but_not_on_the_labs():
    files = engine.build_context_files()
    assert not any(name.startswith("labs/") for name, _ in files)
    digest = engine.inputs_digest(files, "base", "id")
    assert engine.inputs_digest(engine.build_context_files(), "base", "id") == digest
    assert engine.inputs_digest(files, "other-base", "id") != digest
    assert engine.inputs_digest(files, "base", "other-id") != digest
    edited = [(name, data + b"# edited\n" if name == "forklab/inside/runner.py" else data) for name, data in files]
    assert engine.inputs_digest(edited, "base", "id") != digest


def test_the_build_context_holds_exactly_what_the_image_needs():
    names = [name for name, _ in engine.build_context_files()]
    assert names == sorted(["containers/Dockerfile", "containers/sitecustomize.py", "forklab/__init__.py",
                            "forklab/checkpoint.py", "forklab/runner.py", "forklab/inside/__init__.py",
                            "forklab/inside/protocol.py", "forklab/inside/runner.py", "forklab/inside/checkpoint.py"])


def test_a_lab_travels_as_an_archive_without_its_lessons(tmp_path):
    import io
    import shutil
    import tarfile

    folder = tmp_path / "03-zombies-and-orphans"
    shutil.copytree(ROOT / "labs" / "03-zombies-and-orphans", folder)
    shutil.copy(ROOT / "labs" / "claims.yaml", tmp_path)
    script, archive = catalog.load_lab(folder).program()
    assert script == "lab.py"
    assert sorted(tarfile.open(fileobj=io.BytesIO(archive)).getnames()) == ["lab.py", "lab.yaml"]
    # A Windows checkout (CRLF) sends the same bytes.
    lab_py = folder / "lab.py"
    lab_py.write_bytes(lab_py.read_bytes().replace(b"\n", b"\r\n"))
    assert catalog.load_lab(folder).program()[1] == archive
    lab_py.write_bytes(lab_py.read_bytes() + b"# edited\r\n")
    assert catalog.load_lab(folder).program()[1] != archive


def test_verify_without_reports_says_so_and_exits_2(cli):
    code, out, err = cli("verify")
    assert code == 2
    assert err.startswith("forklab: there are no reports in ") and "run `invoke report` first" in err


def test_labs_refuses_a_bad_selection_before_running_anything(cli):
    code, out, err = cli("labs", "--only", "1,42")
    assert code == 2 and "there is no lab 42" in err


@pytest.mark.parametrize("make, argv, expected", [
    (None, ["run", "/no/such/script.py"], "/no/such/script.py: no such file or folder"),
    ("notes.txt", ["run", "{path}"], "not a Python file; give a .py file or a folder with main.py"),
    ("folder/", ["run", "{path}"], "a folder must hold a main.py to run"),
    ("binary.py", ["run", "{path}"], "not Python source (it holds NUL bytes)"),
    ("huge.py", ["run", "{path}"], "is more than `invoke run` sends"),
    (None, ["run", "x.py", "--expect-exit", "300"], "--expect-exit 300: give an exit code (0 to 255) or a signal"),
    (None, ["run", "x.py", "--expect-exit", "SIGNOPE"], "--expect-exit SIGNOPE: give an exit code"),
    (None, ["lab", "3", "--pids", "100000"], "--pids 100000: input should be less than or equal to 4096"),
    (None, ["lab", "3", "--timeout", "soon"], "--timeout soon: not a number"),
    (None, ["lab", "3", "--memory", "8"], "--memory 8: input should be greater than or equal to 32"),
    (None, ["labs", "--jobs", "many"], "--jobs many: give a number of containers from 1 to 16"),
    (None, ["lab", "3", "--colour"], "No idea what '--colour' is!"),
    (None, ["lab"], "'lab' did not receive required positional arguments: 'number'"),
])
def test_input_errors_exit_2_with_one_line_and_write_nothing(cli, tmp_path, make, argv, expected):
    path = tmp_path / (make or "x")
    if make == "notes.txt":
        path.write_text("print('hi')\n", encoding="utf-8")
    elif make == "folder/":
        path.mkdir()
    elif make == "binary.py":
        path.write_bytes(b"\x7fELF\x00\x00")
    elif make == "huge.py":
        path.write_text("#" * (300 * 1024), encoding="utf-8")
    code, out, err = cli(*[arg.replace("{path}", str(path)) for arg in argv])
    assert code == 2, (out, err)
    assert expected in err and err.startswith("forklab: ") and err.count("\n") == 1
    assert "Traceback" not in err + out
    assert not cli.reports.exists()


def test_the_offline_base_recipe_takes_the_architecture(tmp_path, monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: "/usr/bin/mmdebstrap" if name == "mmdebstrap" else None)
    [command] = engine._bootstrap_command(tmp_path / "rootfs.tar", tmp_path / "root", None, "arm64")
    assert "--architectures=arm64" in command
    assert any(arg.startswith("--include=") and "python3-pip" in arg for arg in command)
    assert engine.offline_base_tag("arm64") != engine.offline_base_tag("amd64")
    assert "-arm64-" in engine.offline_base_tag("arm64")
    assert debian_arch("x86_64") == "amd64" and debian_arch("aarch64") == "arm64"
    assert debian_arch("arm64") == "arm64"


def test_the_offline_base_carries_the_hosts_trust_store_when_there_is_one(tmp_path, monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: "/usr/bin/mmdebstrap" if name == "mmdebstrap" else None)
    # containers/Dockerfile looks for the copy where the recipe puts it.
    dockerfile = (ROOT / "containers" / "Dockerfile").read_text(encoding="utf-8")
    assert f"{engine.BASE_CA_DIR}/{engine.HOST_CA_BUNDLE.name}" in dockerfile
    bundle = tmp_path / "ca.crt"
    monkeypatch.setattr(images, "HOST_CA_BUNDLE", bundle)
    [without] = engine._bootstrap_command(tmp_path / "rootfs.tar", tmp_path / "root", None, "amd64")
    assert not any("customize-hook" in arg for arg in without)
    bundle.write_text("certificate", encoding="utf-8")
    [with_ca] = engine._bootstrap_command(tmp_path / "rootfs.tar", tmp_path / "root", None, "amd64")
    assert f"--customize-hook=copy-in {bundle} {engine.BASE_CA_DIR}" in with_ca


def test_base_refuses_an_unknown_architecture(cli):
    code, out, err = cli("base", "--arch", "sparc")
    assert code == 2
    assert err.strip() == "forklab: --arch sparc: not one of amd64, arm64"


# -- hostile input on the host: nothing is read before it is checked ------------------

def _script_in(tmp_path, make: str):
    """A script (or folder) that tries to read something it should not; returns its path."""
    folder = tmp_path / "work"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("the host's secret\n", encoding="utf-8")
    if make == "link-out.py":
        (folder / make).symlink_to(secret)
        return folder / make
    if make == "dev-zero.py":
        (folder / make).symlink_to("/dev/zero")
        return folder / make
    if make == "fifo.py":
        os.mkfifo(folder / make)
        return folder / make
    if make == "sparse.py":
        with open(folder / make, "wb") as handle:
            handle.truncate(8 * 1024 ** 3)  # 8 GB, no blocks on disk
        return folder / make
    if make == "folder-link-out":
        (folder / "main.py").write_text("print('hi')\n", encoding="utf-8")
        (folder / "data.txt").symlink_to(secret)
        return folder
    if make == "folder-dir-link-out":
        (folder / "main.py").write_text("print('hi')\n", encoding="utf-8")
        (folder / "etc").symlink_to(tmp_path)
        return folder
    if make == "folder-fifo":
        (folder / "main.py").write_text("print('hi')\n", encoding="utf-8")
        os.mkfifo(folder / "pipe")
        return folder
    if make == "folder-too-big":
        (folder / "main.py").write_text("print('hi')\n", encoding="utf-8")
        (folder / "data.bin").write_bytes(os.urandom(catalog.MAX_SCRIPT_BYTES))
        return folder
    raise AssertionError(make)


@linux_only
@pytest.mark.parametrize("make, expected", [
    ("link-out.py", "a symbolic link to {secret}, outside"),
    ("dev-zero.py", "a symbolic link to /dev/zero, outside"),
    ("fifo.py", "a named pipe (FIFO), not a regular file"),
    ("sparse.py", "8.0 GiB"),
    ("folder-link-out", "a symbolic link to {secret}, outside"),
    ("folder-dir-link-out", "outside"),
    ("folder-fifo", "a named pipe (FIFO), not a regular file"),
    ("folder-too-big", "its files come to more than `invoke run` sends (256 KiB)"),
])
def test_run_refuses_what_it_must_not_read_in_one_line(cli, tmp_path, make, expected):
    path = _script_in(tmp_path, make)
    code, out, err = cli("run", str(path))
    assert code == 2, (out, err)
    assert expected.replace("{secret}", str(tmp_path / "secret.txt")) in err, err
    assert err.startswith("forklab: ") and err.count("\n") == 1 and "Traceback" not in err + out
    assert "the host's secret" not in err + out
    assert not cli.reports.exists()


@linux_only
def test_a_link_inside_the_folder_is_sent_under_its_own_name(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "real.py").write_text("print('real')\n", encoding="utf-8")
    (folder / "link.py").symlink_to(folder / "real.py")
    lab = catalog.load_script(folder / "link.py", catalog.RunOverrides())
    script, archive = lab.program()
    assert script == "link.py" and lab.report_name == "run-link"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["link.py"] and tar.extractfile("link.py").read() == b"print('real')\n"


def _lab_1_as_13(tmp_path, slug: str):
    """(a labs folder, its lab 13): lab 01 copied without its lessons, beside claims.yaml."""
    labs = tmp_path / "labs"
    folder = labs / f"13-{slug}"
    shutil.copytree(ROOT / "labs" / "01-fork-returns", folder)
    shutil.copy(ROOT / "labs" / "claims.yaml", labs)
    for lesson in folder.glob("README*"):
        lesson.unlink()
    text = (folder / "lab.yaml").read_text(encoding="utf-8").replace("number: 1\n", "number: 13\n")
    (folder / "lab.yaml").write_text(text, encoding="utf-8")
    return labs, folder


@linux_only
@pytest.mark.parametrize("make", ["file-link-out", "yaml-link-out", "dir-link-out", "fifo", "too-big"])
def test_a_lab_folder_that_reaches_outside_is_refused_before_anything_runs(cli, tmp_path, make):
    labs, folder = _lab_1_as_13(tmp_path, "hostile")
    secret = tmp_path / "shadow"
    secret.write_text("root:the host's secret\n", encoding="utf-8")
    if make == "file-link-out":
        (folder / "shadow").symlink_to(secret)
    elif make == "yaml-link-out":
        (folder / "lab.yaml").unlink()
        (folder / "lab.yaml").symlink_to(secret)
    elif make == "dir-link-out":
        (folder / "etc").symlink_to(tmp_path)
    elif make == "fifo":
        os.mkfifo(folder / "pipe")
    elif make == "too-big":
        (folder / "data.bin").write_bytes(os.urandom(catalog.MAX_LAB_BYTES + 1))
    code, out, err = cli("lab", "13", labs=labs)
    assert code == 2, (out, err)
    assert err.startswith("forklab: ") and err.count("\n") == 1 and "Traceback" not in err + out
    assert "the host's secret" not in err + out
    assert {"file-link-out": "outside", "yaml-link-out": "outside", "dir-link-out": "outside",
            "fifo": "not a regular file", "too-big": "more than a lab folder may hold (1.0 MiB)"}[make] in err
    assert not cli.reports.exists()


def test_a_lab_just_under_the_limit_is_packed_and_travels_in_parts(tmp_path):
    labs, folder = _lab_1_as_13(tmp_path, "big")
    used = sum(p.stat().st_size for p in folder.iterdir())
    (folder / "data.bin").write_bytes(os.urandom(catalog.MAX_LAB_BYTES - used))
    lab = catalog.load_lab(folder)
    script, environment = lab.shipped()
    parts = int(environment[catalog.ARCHIVE_ENV])
    assert parts > 1 and all(len(environment[f"{catalog.ARCHIVE_ENV}_{i}"]) <= catalog.ARCHIVE_PART_CHARS
                             for i in range(parts))
    from forklab import runner

    text = runner.take_archive(dict(environment))
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(text))) as tar:
        assert len(tar.extractfile("data.bin").read()) == catalog.MAX_LAB_BYTES - used


def test_run_report_names_keep_the_script_s_own_name():
    assert catalog.run_report_name(Path("ünï€.py")) == "run-ünï"
    assert catalog.run_report_name(Path("fork_bomb.py")) == "run-fork-bomb"
    assert catalog.run_report_name(Path("我的程序.py")) == "run-我的程序"
    assert catalog.run_report_name(Path("€€€.py")) == "run-script"


# -- where reports go ------------------------------------------------------------------

def test_a_reports_folder_that_is_a_file_is_refused_before_anything_runs(cli, monkeypatch, tmp_path):
    blocker = tmp_path / "reports-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    monkeypatch.setenv("INVOKE_FORKLAB_REPORTS_DIR", str(blocker))
    for argv in (["lab", "3"], ["labs", "--only", "1"], ["run", str(ROOT / "tests" / "hostile" / "daemon.py")]):
        code, out, err = cli(*argv)
        assert code == 2, (argv, out, err)
        assert err.startswith(f"forklab: {blocker}: is a file, so reports cannot be written in {blocker}")
        assert err.count("\n") == 1 and "Traceback" not in err + out
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"


def test_a_full_disk_while_writing_is_exit_3_and_keeps_the_previous_report(tmp_path, monkeypatch):
    import errno

    from forklab import commands
    from forklab.errors import EnvironmentProblem
    from forklab.settings import Settings

    settings = Settings.from_config({"reports_dir": str(tmp_path / "reports")}, ROOT)
    folder = settings.reports_dir / "lab-03"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text("the previous report\n", encoding="utf-8")
    real_open = open

    def full_disk(path, mode="r", *args, **kwargs):
        if "w" in mode and ".lab-03.new-" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_disk)
    outcome = commands.LabOutcome(catalog.load_lab(ROOT / "labs" / "03-zombies-and-orphans"), runs=[], outputs=[],
                                  seconds=0.0, document={}, files={"report.md": b"new\n"})
    with pytest.raises(EnvironmentProblem) as caught:
        commands.write_outcome(settings, outcome)
    monkeypatch.setattr("builtins.open", real_open)
    assert caught.value.exit_code == 3 and "the disk is full" in caught.value.message
    assert (folder / "report.md").read_text(encoding="utf-8") == "the previous report\n"
    assert sorted(p.name for p in settings.reports_dir.iterdir()) == ["lab-03"]


def test_two_scripts_of_one_name_keep_a_report_each(tmp_path):
    import json

    from forklab import commands
    from forklab.settings import Settings

    settings = Settings.from_config({"reports_dir": str(tmp_path / "reports")}, ROOT)
    first, second = tmp_path / "a" / "test.py", tmp_path / "b" / "test.py"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("print('hi')\n", encoding="utf-8")

    def claim(path):
        lab = commands._own_report_folder(settings, catalog.load_script(path, catalog.RunOverrides()))
        folder = settings.reports_dir / lab.report_name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text(json.dumps({"lab": {"source_id": lab.source_id}}), encoding="utf-8")
        return lab.report_name

    assert claim(first) == "run-test"
    assert claim(second) == "run-test-2"
    assert claim(first) == "run-test" and claim(second) == "run-test-2"


def test_after_a_handled_ctrl_c_the_exit_code_is_the_kit_s_and_nothing_printed_is_lost():
    # tasks.py leaves through os._exit once an interrupt is handled (a Python that saw the
    # KeyboardInterrupt may otherwise end itself by SIGINT: -2, not 130); what was printed still shows.
    program = ("import sys, tasks\n"
               "try:\n    raise KeyboardInterrupt\nexcept KeyboardInterrupt:\n    pass\n"
               "print('the summary so far', end='')\n"
               "tasks._exit_unwound(143, 'forklab: terminated')\n")
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONUNBUFFERED": ""})
    assert (done.returncode, done.stdout, done.stderr) == (143, "the summary so far", "forklab: terminated\n")


def test_a_signal_in_a_deferred_block_is_raised_when_the_block_ends(monkeypatch):
    import signal

    from forklab import interrupts

    monkeypatch.setattr(interrupts.state, "busy", True)
    monkeypatch.setattr(interrupts.state, "finished", False)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred():
            interrupts._on_signal(signal.SIGINT, None)  # held: the block goes on
            done.append("the rest of the block")
    assert done == ["the rest of the block"]
    assert interrupts.state.pending is None and interrupts.state.deferring == 0
    with pytest.raises(KeyboardInterrupt):
        interrupts._on_signal(signal.SIGINT, None)  # outside the block: at once
    with pytest.raises(interrupts.Terminated):
        with interrupts.deferred():
            interrupts._on_signal(signal.SIGTERM, None)
