"""`invoke autograder N`: exercise N as a Gradescope autograder, graded with no container engine.

Two halves share this module.  On the course's machine, ``write_zip`` makes
autograder-NN.zip, laid out as Gradescope expects it:

    setup.sh                 run once, as root, when Gradescope builds the autograder's image
    run_autograder           run as root for each submission (Gradescope copies it to /autograder/)
    forklab-autograder.json  which exercise, in which language, as which user
    requirements.txt         the checks' dependencies (containers/report-requirements.txt)
    runtime/                 what the submission's processes see: the runner, checkpoint() and the fork hook
    kit/forklab/             the kit's package: catalog, result, checks, exercises and this module
    kit/labs/                claims.yaml and the exercise's folder, without its solution.py

On Gradescope, ``main`` grades the program in /autograder/submission.  There
is no engine there, so it runs the kit's runner itself, once per variant, as
the unprivileged user setup.sh made, under the limits a process can set for
its children: RLIMIT_NPROC as the pids limit (it counts that user's
processes), RLIMIT_AS as the memory limit (per process), RLIMIT_FSIZE, no core
files, the lab's timeout, and a network namespace of its own where the
container allows one (it says so where it does not).  The runner is not PID 1
there but a child subreaper, so orphans still come to it and are reaped.  The
program is found, its runs' documents assembled, checked and scored, and
results.json written exactly as `invoke grade` does for one student
(forklab/grade.py: the same checks, points, hidden checks and Gradescope
format), with the sandbox said in its output.  Whatever happens (no .py file,
a program that does not parse, an endless loop, a fork bomb, a broken
autograder), /autograder/results/results.json is written, with 0 points and
one line on why.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from forklab.result import RunRecord

#: The unprivileged user setup.sh makes; submissions run as this user.
GRADER_USER = "forklab-grader"
#: Where setup.sh copies runtime/: readable by the grader user (the rest of /autograder/source is not).
RUNTIME_DIR = "/opt/forklab-runtime"
CONFIG_NAME = "forklab-autograder.json"
#: Gradescope's layout.
SOURCE_DIR = "/autograder/source"
SUBMISSION_DIR = "/autograder/submission"
RESULTS_FILE = "/autograder/results/results.json"
#: Each file a submission writes may grow to this size (the engine's /tmp is 64 MiB).
FILE_LIMIT_BYTES = 64 * 1024 * 1024
#: After the lab's timeout the runner kills, reaps and reports; past this much more, it is killed too.
RUNNER_GRACE_S = 30
#: How often the grader user's processes are counted while the runner runs.
POLL_S = 0.02
#: How long ending every process of the grader user may take.
END_S = 10
#: The runner's document is one line; a larger one is cut (and then fails to parse).
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
CLONE_NEWNET = 0x40000000
MiB = 1024 * 1024

#: The kit as installed: this file is kit/forklab/autograder.py in the zip, forklab/autograder.py here.
KIT = Path(__file__).resolve().parents[1]


# --- the zip (on the course's machine) -------------------------------------------------------------------

SETUP_SH = """#!/usr/bin/env bash
# forklab's autograder: Gradescope runs this once, as root, when it builds the
# autograder's image.  Docker is not available there: the kit's runner runs the
# submissions itself (see run_autograder).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# python3 (the full one: the runner uses ctypes), ps and pstree.
missing=""
command -v python3 >/dev/null 2>&1 || missing=yes
python3 -c "import ctypes, resource, json, selectors" >/dev/null 2>&1 || missing=yes
python3 -m pip --version >/dev/null 2>&1 || missing=yes
command -v ps >/dev/null 2>&1 || missing=yes
command -v pstree >/dev/null 2>&1 || missing=yes
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-pip procps psmisc
fi

# The checks' dependencies, beside the system's Python (not in it): the
# submission's processes never see them.  PIP_BREAK_SYSTEM_PACKAGES lets a pip
# that follows PEP 668 install with --target; an older pip ignores it.
PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \\
    --target "$here/deps" -r "$here/requirements.txt"

# The user submissions run as: RLIMIT_NPROC counts its processes, so it must have none of its own.
if ! id -u forklab-grader >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \\
        --shell /usr/sbin/nologin forklab-grader
fi

# What the submission's processes import (checkpoint(), the fork hook), readable by that user;
# the rest of the autograder (lab.yaml with its hidden checks) is root's alone.
rm -rf /opt/forklab-runtime
mkdir -p /opt/forklab-runtime
cp -R "$here/runtime/." /opt/forklab-runtime/
chown -R root:root /opt/forklab-runtime
chmod -R u=rwX,go=rX /opt/forklab-runtime
chmod -R go-rwx "$here"

# A last look: the autograder's own imports work.
PYTHONPATH="$here/deps:$here/kit" PYTHONDONTWRITEBYTECODE=1 python3 -c "import forklab.autograder, forklab.commands"
echo "forklab autograder: ready"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# forklab's autograder: Gradescope runs this as root for each submission.  It
# grades /autograder/submission with the kit's runner and checks and writes
# /autograder/results/results.json, always (0 points and one line on why when
# the program could not be graded).
source=/autograder/source
results=/autograder/results/results.json
mkdir -p /autograder/results
rm -f "$results"
PYTHONPATH="$source/deps:$source/kit" PYTHONDONTWRITEBYTECODE=1 \\
    python3 -m forklab.autograder --config "$source/forklab-autograder.json" \\
    --submission /autograder/submission --results "$results"
status=$?
if [ ! -s "$results" ]; then
    # The grader itself could not start (python3 missing, setup.sh not run): still a result.
    printf '{"score": 0, "output": "%s", "tests": []}\\n' \\
        "forklab's autograder could not run (exit status $status): rebuild the autograder from its zip" \\
        > "$results"
fi
exit 0
"""


def _text_file(name: str, data: bytes) -> bytes:
    """LF line endings for text (a Windows checkout may have CRLF): a CRLF shebang breaks a script."""
    from forklab import catalog

    return data.replace(b"\r\n", b"\n") if Path(name).suffix in catalog.TEXT_SUFFIXES else data


def zip_files(lab, lang: str = "en") -> dict[str, tuple[bytes, int]]:
    """Every file of exercise ``lab``'s autograder zip: {path in the zip: (bytes, mode)}.

    The exercise's solution.py is never among them, nor any file with its text.
    """
    from forklab import catalog
    from forklab.errors import UsageError

    limit = 64 * catalog.MAX_LAB_BYTES
    config = {"exercise": lab.number, "folder": lab.folder, "lang": lang, "user": GRADER_USER,
              "runtime": RUNTIME_DIR}
    files: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP_SH.encode("utf-8"), 0o755),
        "run_autograder": (RUN_AUTOGRADER.encode("utf-8"), 0o755),
        CONFIG_NAME: ((json.dumps(config, indent=2) + "\n").encode("utf-8"), 0o644),
    }
    containers = KIT / "containers"
    package = KIT / "forklab"

    def add(name: str, data: bytes) -> None:
        files[name] = (_text_file(name, data), 0o644)

    add("requirements.txt", catalog.read_file(containers / "report-requirements.txt", containers.resolve(), limit))
    # What the lab image's runtime stage copies (containers/Dockerfile), and nothing more.
    add("runtime/sitecustomize.py", catalog.read_file(containers / "sitecustomize.py", containers.resolve(), limit))
    from forklab.inside import IMAGE_FILES

    for name in IMAGE_FILES:
        add(f"runtime/forklab/{name}", catalog.read_file(package / name, package.resolve(), limit))
    built = lambda relative: not any(part == "__pycache__" or part.endswith(".egg-info")  # noqa: E731
                                     for part in relative.parts)
    for relative, data in catalog.folder_files(package, limit, "the autograder copies", keep=built):
        add(f"kit/forklab/{relative}", data)
    claims = lab.path.parent / catalog.CLAIMS_FILE
    if claims.is_file():
        add(f"kit/labs/{catalog.CLAIMS_FILE}", catalog.read_file(claims, lab.path.parent.resolve(), limit))
    solution = lab.solution_path
    answer = catalog.read_file(solution, lab.path.resolve(), limit) if solution.is_file() else None
    for relative, data in catalog.folder_files(lab.path, limit, "the autograder copies",
                                               keep=lambda relative: relative.as_posix() != catalog.SOLUTION
                                               and built(relative)):
        add(f"kit/labs/{lab.folder}/{relative}", data)
    for name, (data, _) in files.items():
        if Path(name).name == catalog.SOLUTION or (answer and answer.strip() and answer.strip() in data):
            raise UsageError(f"{name}: holds the solution of exercise {lab.number:02d}; the autograder "
                             "never carries it: remove or rename that file")
    return files


def _runs_without_engine(lab) -> None:
    """Refuse an exercise with a variant whose runner steps aside: only an engine can watch it from outside."""
    from forklab.errors import UsageError

    aside = [run.name for run in lab.runs() if run.settings.stepped_aside]
    if aside:
        raise UsageError(f"exercise {lab.number:02d}'s {', '.join(aside)} variant(s) put the runner aside and are "
                         "watched through a container engine, which Gradescope does not have")


def zip_bytes(files: dict[str, tuple[bytes, int]]) -> bytes:
    """The zip of ``files``, the same bytes for the same files (sorted, dated 1980-01-01, modes kept)."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16  # a regular file, with unzip's permissions
            info.create_system = 3  # Unix, so that unzip applies them
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def write_zip(settings, number_text: str, out_text: str, term) -> int:
    """`invoke autograder N [--out PATH]`: write exercise N's Gradescope autograder zip.

    Exit 0 when written, 2 for a lab that is not an exercise or a bad --out.
    """
    from forklab import catalog, commands, report
    from forklab.errors import EnvironmentProblem, UsageError

    found = catalog.find_labs(settings.labs_dir)
    lab = catalog.load_lab(found[catalog.parse_number(number_text, found)])
    if lab.spec.kind != "exercise":
        raise UsageError(f"lab {lab.number:02d} is not an exercise; {commands.exercise_list(settings)}")
    _runs_without_engine(lab)
    default = f"autograder-{lab.number:02d}.zip"
    out = Path(out_text).expanduser() if out_text else settings.labs_dir.parent / default
    if out.is_dir():
        out = out / default
    if not out.parent.is_dir():
        raise UsageError(f"--out {out_text}: {out.parent} is not a folder; give a path in an existing folder")
    if out.exists() and not out.is_file():
        raise UsageError(f"--out {out_text}: not a regular file; give the path of the zip to write")
    files = zip_files(lab, settings.lang)
    data = zip_bytes(files)
    try:
        report.write_file(out, data)
    except OSError as exc:
        if exc.errno in commands.DISK_FULL:
            raise EnvironmentProblem(f"{out}: the disk is full ({exc.strerror}); free some space and "
                                     "run again") from None
        raise UsageError(f"{out}: cannot be written ({exc.strerror}); give another --out") from None
    every = [check for run in lab.runs() for check in run.expect]
    hidden = sum(1 for check in every if getattr(check, "hidden", False))
    points = sum(getattr(check, "points", 1) for check in every)
    term.out.print(f"{commands.shown_path(out)}: exercise {lab.number:02d} ({lab.spec.title}) for Gradescope: "
                   f"{points} points in {len(every)} checks ({hidden} hidden), {len(files)} files, "
                   f"no {catalog.SOLUTION}", markup=False, highlight=False)
    term.say("upload it as a programming assignment's autograder (Gradescope's Ubuntu image); "
             "students submit one .py file")
    return 0


# --- the run (on Gradescope) ---------------------------------------------------------------------------


class Sandbox:
    """What a submission runs under: a user, rlimits, a network namespace where one can be had."""

    def __init__(self, user: Optional[str], pids: int, memory_mb: int, network: tuple[bool, str]) -> None:
        self.user = user
        self.uid: Optional[int] = None
        self.gid: Optional[int] = None
        if user:
            import pwd

            record = pwd.getpwnam(user)  # KeyError: said by the caller
            self.uid, self.gid = record.pw_uid, record.pw_gid
        self.pids = pids
        self.memory_mb = memory_mb
        self.network, self.network_why = network

    def enter(self) -> None:
        """In the runner's process, before it starts (preexec_fn): as root, then the grader user."""
        import resource

        if self.network and not _unshare(CLONE_NEWNET):
            raise OSError("unshare(CLONE_NEWNET) failed")
        if self.uid is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.pids, self.pids))
        memory = self.memory_mb * MiB
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT_BYTES, FILE_LIMIT_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.uid is not None:
            assert self.gid is not None, "a user's uid and gid are set together"
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)

    def describe(self, timeout: float) -> str:
        who = (f"as the user {self.user}, at most {self.pids} processes at once (RLIMIT_NPROC)" if self.uid is not None
               else f"as {_whoami()}, with no pids limit (no user of its own to count processes of)")
        network = ("no network (a network namespace of its own)" if self.network
                   else f"the network NOT cut off ({self.network_why})")
        return (f"sandbox: {who}, {self.memory_mb} MiB of address space per process (RLIMIT_AS), "
                f"files up to {FILE_LIMIT_BYTES // MiB} MiB, no core files, {timeout:g} s, {network}")

    def count(self) -> int:
        """How many processes the grader user has (zombies too: RLIMIT_NPROC counts them until reaped)."""
        return _processes_of(self.uid) if self.uid is not None else 0

    def end_everything(self) -> bool:
        """Kill every process left of the run and reap what comes to us; True once none is left."""
        deadline = time.monotonic() + END_S
        while True:
            if self.uid is not None:
                self._kill_as_user()
            for pid in _descendants(os.getpid()):
                _kill(pid)
            _reap_children()
            left = self.count() if self.uid is not None else len(_descendants(os.getpid()))
            if not left:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def _kill_as_user(self) -> None:
        """kill(-1, SIGKILL) as the grader user: every process of that user at once, however fast it forks."""
        import signal

        uid, gid = self.uid, self.gid
        assert uid is not None and gid is not None, "only a sandbox with a user of its own kills as that user"
        child = os.fork()
        if child == 0:
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                for _ in range(1000):
                    os.kill(-1, signal.SIGKILL)
            except BaseException:  # noqa: BLE001 - ProcessLookupError: none left
                pass
            os._exit(0)
        os.waitpid(child, 0)


def adopt_orphans() -> None:
    """What escapes the runner (a submission may kill it) comes to this process, to be killed and reaped."""
    from forklab.inside.runner import _become_subreaper

    _become_subreaper()


def _whoami() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _unshare(flags: int) -> bool:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(flags) == 0


def network_namespace() -> tuple[bool, str]:
    """Whether a network namespace can be had here (tried in a child), and if not, why."""
    if os.geteuid() != 0:
        return False, "not run as root"
    child = os.fork()
    if child == 0:
        import ctypes

        try:
            code = 0 if _unshare(CLONE_NEWNET) else (ctypes.get_errno() or 1)
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return True, ""
    return False, f"this container does not allow a network namespace: unshare: {os.strerror(code)}"


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Uid:"):
                        count += int(line.split()[1]) == uid
                        break
        except (OSError, ValueError, IndexError):
            continue
    return count


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            children.setdefault(int(stat[stat.rfind(b")") + 2:].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_variant(lab, variant, sandbox: Sandbox, runtime: str) -> RunRecord:
    """Run ``lab``'s program (a submission) once under the runner, as the engine would: the record
    commands.checked takes ({document, timed_out, container_exit, runner_stderr, duration_ms, container})."""
    import signal
    import subprocess
    import tempfile
    import uuid

    from forklab.inside import runner

    script, shipped = lab.shipped()
    nonce = uuid.uuid4().hex
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/tmp",
           "LANG": "C.UTF-8", "PYTHONPATH": runtime, "PYTHONDONTWRITEBYTECODE": "1",
           runner.NONCE_ENV: nonce, **shipped}
    argv = [sys.executable, *variant.runner_command(script)]
    timeout = float(variant.settings.timeout)
    peak, timed_out = 0, False
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, cwd="/tmp", stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   preexec_fn=sandbox.enter, close_fds=True)
        deadline = started + timeout + RUNNER_GRACE_S
        while process.poll() is None:
            peak = max(peak, sandbox.count())
            if time.monotonic() >= deadline:
                timed_out = True
                process.kill()
                break
            time.sleep(POLL_S)
        process.wait()
        seconds = time.monotonic() - started
        sandbox.end_everything()
        out.seek(0)
        err.seek(0)
        text = out.read(MAX_DOCUMENT_BYTES).decode("ascii", "replace")
        stderr = err.read(64 * 1024).decode("utf-8", "replace")
    document = None
    try:
        parsed = json.loads((text.strip().splitlines() or [""])[-1])  # the runner's one line
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("nonce") == nonce:
        document = parsed
    if document is None and not timed_out:
        code = process.returncode
        how = (f"killed by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
               else f"exit status {code}")
        last = stderr.strip().splitlines()[-1:] or ["a process of the submission may have killed it"]
        document = {"schema": runner.SCHEMA, "status": "runner-error",
                    "error": f"the kit's runner ended without its report ({how}): {last[0]}"}
    if document is not None and sandbox.uid is not None:
        # The limits that applied, and the count RLIMIT_NPROC keeps (the runner included, as a
        # container's pids count includes it): a cgroup here would describe Gradescope's container.
        box = document.setdefault("environment", {})
        box.setdefault("limits", {}).update(pids=sandbox.pids, memory_bytes=sandbox.memory_mb * MiB)
        document["peak_processes"] = peak
    if document is not None:
        document.setdefault("environment", {})["sandbox"] = sandbox.describe(timeout)
    return {"document": document, "timed_out": timed_out, "container_exit": process.returncode,
            "runner_stderr": stderr, "duration_ms": round(seconds * 1000, 1), "container": "gradescope"}


def environment(lang: str) -> dict:
    """Where the run took place, as result.assemble records it."""
    import platform

    from forklab.settings import debian_arch

    arch = debian_arch(platform.machine())
    return {"host": {"os": "Gradescope's autograder", "release": platform.release(), "arch": arch,
                     "python": platform.python_version()},
            "engine": {"name": "none (the runner run directly by forklab.autograder)", "version": "",
                       "api_version": None, "os": "linux", "arch": arch, "endpoint": "none",
                       "found_via": "Gradescope's run_autograder"},
            "image": {"tag": "gradescope", "id": "", "base": ""},
            "lang": lang}


def grade(config: dict, submission_dir: Path, user: Optional[str]) -> dict:
    """Grade the program in ``submission_dir``: results.json's content.

    The program is found, loaded, checked and scored as `invoke grade` does it for one
    student (forklab/grade.py), and results.json is the one `invoke grade` writes, with
    the sandbox said in its output.
    """
    from forklab import catalog, i18n
    from forklab import grade as grading
    from forklab.errors import UsageError

    started = time.monotonic()
    lab = catalog.load_lab(KIT / "labs" / config["folder"])
    if lab.spec.kind != "exercise":
        raise UsageError(f"lab {lab.number:02d} is not an exercise: its autograder has nothing to grade")
    _runs_without_engine(lab)
    lang = config.get("lang") or i18n.DEFAULT
    _ = i18n.translator(lang)
    expected = grading.expected_checks(lab, lang)
    # The program: the folder's only .py file, or the one named NN-slug.py, solution.py or main.py.
    submission = grading._in_folder(submission_dir, "submission", lab, _)
    submission.student = "submission"
    if submission.path is None:
        results = grading.gradescope(grading.row_not_run(submission, expected), expected, None, _)
    else:
        program = grading._load(lab, submission, catalog.exercise_data(lab))
        runtime = config.get("runtime") or RUNTIME_DIR
        if not os.path.isdir(runtime):  # setup.sh did not copy it (a local trial): the zip's own copy
            runtime = str(KIT.parent / "runtime")
        if os.geteuid() != 0:
            user = None  # only root can run it as another user
        adopt_orphans()
        network = network_namespace()
        records, said = [], []
        for variant in program.runs():
            try:
                sandbox = Sandbox(user, variant.settings.pids_limit, variant.settings.memory_mb, network)
            except KeyError:
                raise UsageError(f"the user {user} is missing: setup.sh did not run; rebuild the "
                                 "autograder") from None
            said.append(sandbox.describe(variant.settings.timeout))
            records.append((variant, run_variant(program, variant, sandbox, runtime)))
        row, _files, original = grading.assess(program, submission, records, environment(lang))
        results = grading.gradescope(row, expected, original, _)
        results["output"] += "".join(f"\n{line}" for line in dict.fromkeys(said))
    results["execution_time"] = round(time.monotonic() - started)
    return results


def zero(reason: str) -> dict:
    """results.json when nothing could be graded: 0 points and why, in one line."""
    return {"score": 0, "output": reason, "tests": []}


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: Optional[list] = None) -> int:
    """`python3 -m forklab.autograder`: what run_autograder runs.  Always writes results.json; exit 0."""
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m forklab.autograder",
                                     description="Grade one submission for Gradescope with forklab's runner.")
    parser.add_argument("--config", default=f"{SOURCE_DIR}/{CONFIG_NAME}")
    parser.add_argument("--submission", default=SUBMISSION_DIR)
    parser.add_argument("--results", default=RESULTS_FILE)
    parser.add_argument("--user", default=None,
                        help=f"run the submission as this user (default: the config's, {GRADER_USER}); "
                             "'' runs it as the caller")
    args = parser.parse_args(argv)
    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
        user = config.get("user", GRADER_USER) if args.user is None else args.user
        results = grade(config, Path(args.submission), user or None)
    except BaseException as exc:  # noqa: BLE001 - whatever happened, Gradescope gets a result
        # A ForklabError is already one line that says what to do; anything else is named.
        results = zero(getattr(exc, "message", None)
                       or f"forklab's autograder failed: {type(exc).__name__}: {_one_line(exc)}")
    path = Path(args.results)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    print(results["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
