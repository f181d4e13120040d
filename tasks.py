"""forklab's tasks: a table of contents.  Each task is a few lines over the package.

    invoke lab 3        run lab 3 in a sandboxed container and write reports/lab-03/
    invoke labs         run every lab (--only 1,3,6 for some), several at a time
    invoke report       run every lab again; rewrite all reports and reports/index.*
    invoke verify       run the labs again; diff their normalized reports with those on disk
    invoke run PATH     run any Python script in the same sandbox; reports/run-NAME/
    invoke puzzle       OSTEP's fork.py puzzle (--seed S), run by real processes; reports/puzzle-S/
    invoke check 13     grade your program for exercise 13 (work/13-*.py, or PATH); reports/check-13/
    invoke grade 13 DIR grade a class (a folder or .py per student); reports/grade-13/gradebook.csv
    invoke handout      the students' copy of the course in handout/: no solutions or hidden checks
    invoke autograder 13  exercise 13 as a Gradescope autograder zip, autograder-13.zip (no solution in it)
    invoke list         the labs, their verdicts and last status
    invoke new 13 slug  a new lab folder, labs/13-slug/, that runs and passes as it is
    invoke check-lab 3  check lab.yaml against lab.py without running (every lab without a number)
    invoke schema       write labs/lab.schema.json, lab.yaml's JSON schema for editors
    invoke build        build the lab image (only when its inputs changed)
    invoke base         make the offline Debian base image (no registry needed)
    invoke shell 3      a shell in the lab image, in lab 3's folder, same sandbox
    invoke doctor       which engine forklab finds, and how to fix what is wrong
    invoke clean        remove containers the kit left behind (--images: images too)

Exit codes: 0 ok, 1 a lab's checks failed, 2 usage or input error, 3 environment
error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

from pathlib import Path

from invoke import Collection, Exit, Program, Task
from invoke import task as _invoke_task
from invoke.exceptions import ParseError
from invoke.parser import Argument

from forklab import interrupts
from forklab.errors import UsageError
from forklab.interrupts import install_signal_handlers
from forklab.settings import DEFAULTS, Settings

# The commands (and the Docker SDK, pydantic, Jinja2, rich behind them) load
# only when a task runs: `invoke --list` stays quick.

ROOT = Path(__file__).resolve().parent

#: The one short flag of each option that has one: a letter means the same in every task.
#: Every other option is long only (Invoke would otherwise pick a letter per task).
SHORT_FLAGS = {"number": "n", "timeout": "t", "pids": "p", "memory": "m", "lang": "l", "jobs": "j",
               "repeat": "r", "seed": "s", "answer": "a", "chaos": "c", "verbose": "v", "out": "o",
               "images": "i"}

#: Options whose value is a number: `--help` shows them as INT.
NUMBERS = {"number", "timeout", "pids", "memory", "output_cap", "repeat", "seed", "jobs", "interval",
           "actions", "forks"}


class _Number(Argument):
    """A number as Invoke's help shows it (INT), taken as the text typed: forklab checks it and
    names the option in its error (Invoke's own int() would print a traceback), and "" stays "not given"."""

    def set_value(self, value, cast: bool = True) -> None:
        super().set_value(value, cast=False)


class _Task(Task):
    """A task whose options follow SHORT_FLAGS and NUMBERS instead of Invoke's guesses."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(*args, **kwargs)

    def get_arguments(self, ignore_unknown_help=None):
        arguments = super().get_arguments(ignore_unknown_help)
        for argument in arguments:
            name = argument.name
            if name in SHORT_FLAGS and (name, self.name or self.body.__name__) not in _NO_SHORT:
                argument.names = (*argument.names, SHORT_FLAGS[name])
            if name in NUMBERS and argument.kind is str:
                argument.__class__ = _Number
                argument.kind = int
        return arguments


#: (option, task) pairs that keep no short flag: puzzle's -a meant --actions, so it is not given another meaning.
_NO_SHORT = {("answer", "puzzle")}


def task(*args, **kwargs):
    """Invoke's @task, with forklab's short flags and numbers."""
    kwargs.setdefault("klass", _Task)
    return _invoke_task(*args, **kwargs)


# Numbers are taken as text and checked by forklab, which names the option in
# its error; Invoke's own casting would print a traceback.
LIMITS_HELP = {
    "timeout": "seconds before everything is killed (at most 600)",
    "pids": "most processes at once (8 to 4096)",
    "memory": "memory limit in MiB (32 to 4096)",
    "output_cap": "MiB of stdout and of stderr to keep (at most 64)",
}


LANG_HELP = "en or zh: the language of the terminal and the reports (default: FORKLAB_LANG, else en)"


def _run(c, action, lang: str = "", verbose: bool = False, cleanup=None) -> None:
    """Run ``action`` guarded; ``cleanup`` runs before an interrupted command exits."""
    from forklab import commands
    from forklab.console import Terminal

    def act() -> int:
        # Inside guarded: a language forklab does not speak is one line, exit 2.
        settings = Settings.from_config(c.config.get("forklab", {}), ROOT, lang)
        return action(settings, Terminal(settings.lang, verbose=verbose))

    code, message = commands.guarded(act)
    if code in (130, 143):
        if cleanup is not None:
            cleanup()
        _exit_unwound(code, message)
    if code:
        raise Exit(message or None, code=code)


def _exit_unwound(code: int, message: str) -> None:
    """Exit 130 or 143 once a Ctrl-C or SIGTERM has been handled; the work is undone and the reports
    are whole by now.  Not through Python's own exit: after a KeyboardInterrupt that landed while a
    module was being imported (the head start's Ctrl-C can), CPython 3.11 sometimes ended the process
    by SIGINT although the interrupt was caught (exit -2 with the kit's message, about 1 Ctrl-C in 25)."""
    import os
    import sys
    import threading

    # What Python's own exit would wait for: the threads that remove finished containers.
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    sys.stderr.write(message + "\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _commands():
    from forklab import commands

    return commands


def _numbers(only: str) -> list:
    return [part for part in only.replace(",", " ").split() if part]


def _jobs(jobs: str) -> int:
    jobs = str(jobs)
    if not (jobs.isascii() and jobs.isdigit()) or not 1 <= int(jobs) <= 16:
        from forklab.normalize import one_line

        raise UsageError(f"--jobs {one_line(jobs)[:40]}: give a number of containers from 1 to 16")
    return int(jobs)


JOBS_HELP = ("how many containers at once (default 2); runs watched from outside (pid1: lab or init), "
             "which mostly wait, run beside them")
VERBOSE_HELP = "list every check, passed or not (default: the failed ones and a count)"


@task(iterable=["answer"],
      help={"number": "lab number, e.g. 3 or 03", **LIMITS_HELP,
            "repeat": "run it this many times (in one container) and report the distribution",
            "chaos": "delay the parent or the child at random after each fork",
            "seed": "make --chaos repeatable (implies --chaos)",
            "predict": "answer the lab's questions first, then compare with the run",
            "answer": "an answer to the next question, without asking (repeat for each)",
            "verbose": VERBOSE_HELP, "lang": LANG_HELP})
def lab(c, number, timeout="", pids="", memory="", output_cap="", repeat="", chaos=False, seed="",
        predict=False, answer=None, verbose=False, lang=""):
    """Run lab NUMBER in a fresh sandboxed container and write its report.

    Examples: invoke lab 3    invoke lab 6 --repeat 50 --chaos    invoke lab 23 --predict
    """
    head = None
    # From here a Ctrl-C or SIGTERM unwinds (forklab/interrupts.py): what the head start began is removed.
    interrupts.state.busy = True
    try:
        if not any((timeout, pids, memory, output_cap, repeat, chaos, seed, predict, answer)):
            # The containers of the last plain `invoke lab NUMBER` start now, if nothing they depend on
            # changed; the run adopts each only if it is what it would create (forklab/host/headstart.py).
            from forklab.host import headstart

            config = {**DEFAULTS, **dict(c.config.get("forklab", {}))}
            head = headstart.begin(ROOT / config["labs_dir"], str(number),
                                   (config["base_image"], config["mirror"]))
        _run(c, lambda s, t: _commands().run_lab(
            s, number, t, _commands().overrides(timeout=timeout, pids=pids, memory=memory, output_cap=output_cap),
            repeat=repeat, chaos=chaos, seed=seed, predict=predict, answers=answer, head=head), lang, verbose,
            cleanup=lambda: head.close() if head is not None else None)
    except (KeyboardInterrupt, interrupts.Terminated) as exc:
        if head is not None:
            head.close()
        _exit_unwound(*interrupts.unwound(exc))
    finally:
        if head is not None:
            head.close()


@task(help={"only": "some labs only, e.g. 1,3,6", "jobs": JOBS_HELP,
            "lang": LANG_HELP})
def labs(c, only="", jobs="2", lang=""):
    """Run every lab (or --only some), several at a time, and write their reports.

    Examples: invoke labs    invoke labs --only 1,3,6 --jobs 4
    """
    _run(c, lambda s, t: _commands().run_labs(s, _numbers(only), _jobs(jobs), t), lang)


@task(help={"jobs": JOBS_HELP, "lang": LANG_HELP})
def report(c, jobs="2", lang=""):
    """Run every lab again and rewrite all reports and reports/index.md, index.html.

    Example: invoke report --jobs 4
    """
    _run(c, lambda s, t: _commands().regenerate(s, _jobs(jobs), t), lang)


@task(help={"only": "some labs only, e.g. 3", "jobs": JOBS_HELP,
            "lang": "en or zh: the language of the terminal; each report is compared in the language "
                    "it was made in"})
def verify(c, only="", jobs="2", lang=""):
    """Run the labs again; show a diff and exit 1 where a normalized report drifted.

    Examples: invoke verify    invoke verify --only 3
    """
    _run(c, lambda s, t: _commands().verify(s, _numbers(only), _jobs(jobs), t), lang)


@task(name="run", help={"path": "a Python file, or a folder with main.py", "tty": "stdout is a terminal",
                        "interval": "also take a snapshot every this many seconds",
                        "expect_exit": "the exit code (or signal, e.g. SIGKILL) the script should end with; default 0",
                        "verbose": VERBOSE_HELP, "lang": LANG_HELP, **LIMITS_HELP})
def run_(c, path, timeout="", pids="", memory="", output_cap="", interval="", tty=False, expect_exit="",
         verbose=False, lang=""):
    """Run any Python script in the lab sandbox, with snapshots; report in reports/run-NAME/.

    Examples: invoke run mine.py    invoke run mine.py --timeout 5 --pids 64 --expect-exit SIGKILL
    """
    _run(c, lambda s, t: _commands().run_script(
        s, path, _commands().overrides(timeout=timeout, pids=pids, memory=memory, output_cap=output_cap,
                                    interval=interval, stdout="tty" if tty else ""), expect_exit, t), lang,
         verbose)


@task(help={"seed": "fork.py's -s: the puzzle's random seed, 0 to 2147483647 (default: one chosen and shown)",
            "actions": "fork.py's -a: how many forks and exits, 1 to 30 (default 5)",
            "forks": "fork.py's -f, as a percentage: how many actions are forks, 1 to 100 (default 70)",
            "reparent": "local: every process a child subreaper, so an orphan goes to its nearest living "
                        "ancestor (fork.py's -R); default: orphans go to the reaper",
            "predict": "predict the final tree first (each living process's parent), then compare with the run",
            "answer": "the prediction without asking, e.g. \"b=a c=reaper\" (implies --predict)",
            "compute": "fork.py's -c: print fork.py's answer and Linux's, without running anything",
            "lang": "en or zh: the language of the report's headings and checks (the puzzle's own lines are "
                    "English)"})
def puzzle(c, seed="", actions="", forks="", reparent="", predict=False, answer="", compute=False, lang=""):
    """OSTEP's fork.py puzzle, run by real processes: fork.py's final tree, the real one, the difference.

    Examples: invoke puzzle --seed 4    invoke puzzle --seed 4 --predict    invoke puzzle --seed 4 --compute
    """
    from forklab import puzzle as puzzles

    _run(c, lambda s, t: puzzles.run_puzzle(s, t, seed=seed, actions=actions, forks=forks, reparent=reparent,
                                            predict=predict, answer=answer, compute=compute), lang)


@task(positional=["number", "path"],
      help={"number": "the exercise's number, e.g. 13",
            "path": "your program (default: work/NN-slug.py, made from the starter the first time)",
            "summary": "also append the score as Markdown to this file (a workflow's $GITHUB_STEP_SUMMARY)",
            "lang": LANG_HELP})
def check(c, number, path="", lang="", summary=""):
    """Grade your program for exercise NUMBER: each check, hints, the score; report in reports/check-NN/.

    Examples: invoke check 13    invoke check 13 work/mine.py
    """
    _run(c, lambda s, t: _commands().check(s, number, path, t, summary), lang)


def _grading():
    from forklab import grade as grading

    return grading


@task(positional=["number", "submissions"],
      help={"number": "the exercise's number, e.g. 13",
            "submissions": "a folder with one folder (or one .py file) per student, named after the student",
            "jobs": "how many containers at once (default 2)",
            "again": "grade every student again, also those graded earlier from the same program",
            "timeout": LIMITS_HELP["timeout"] + " (default: the exercise's)",
            "out": "the folder to write (default: reports/grade-NN/)",
            "gradescope_hidden": "Gradescope's visibility of hidden checks: after_published (default) or hidden",
            "lang": LANG_HELP})
def grade(c, number, submissions, jobs="2", again=False, timeout="", out="", gradescope_hidden="after_published",
          lang=""):
    """Grade a class for exercise NUMBER: a report and Gradescope's results.json per student, gradebook.csv.

    Example: invoke grade 13 submissions/ --jobs 4
    """
    _run(c, lambda s, t: _grading().grade(s, number, submissions, _jobs(jobs), t, again,
                                          _commands().overrides(timeout=timeout), out, gradescope_hidden), lang)


@task(help={"out": "the folder to write (default: handout/); replaced whole if it is an earlier handout",
            "lang": LANG_HELP})
def handout(c, out="", lang=""):
    """Write the students' copy of the course: no solutions, hidden checks or given-away answers.

    Examples: invoke handout    invoke handout --out ../course-handout
    """
    _run(c, lambda s, t: _commands().handout(s, out, t), lang)


@task(help={"number": "the exercise's number, e.g. 13",
            "out": "the zip to write (default: autograder-NN.zip beside tasks.py; a folder: the zip in it)",
            "lang": "en or zh: the language of the checks and hints students see (default: FORKLAB_LANG, else en)"})
def autograder(c, number, out="", lang=""):
    """Write exercise NUMBER as a Gradescope autograder zip: setup.sh, run_autograder, the kit, no solution.

    Example: invoke autograder 13 --out dist/
    """
    _run(c, lambda s, t: _autograding().write_zip(s, number, out, t), lang)


def _autograding():
    from forklab import autograder as autograding

    return autograding


def _authoring():
    from forklab import authoring

    return authoring


@task(help={"number": "the new lab's number, 1 to 99", "slug": "its folder's name after the number, e.g. zombie-race",
            "claim": "the id of a claim in labs/claims.yaml it tests (default: a claim of its own to edit)"})
def new(c, number, slug, claim=""):
    """Make labs/NN-SLUG/: a lab.py, lab.yaml and lessons that `invoke lab NUMBER` runs and passes as they are.

    Example: invoke new 24 zombie-race
    """
    _run(c, lambda s, t: _authoring().new_lab(s, number, slug, claim, t))


@task(name="check-lab", help={"number": "a lab number (default: every lab)", "lang": LANG_HELP})
def check_lab(c, number="", lang=""):
    """Check lab.yaml against lab.py without running: checkpoints that never happen, roles nobody has.

    Examples: invoke check-lab    invoke check-lab 3
    """
    _run(c, lambda s, t: _authoring().check_labs(s, number, t), lang)


@task
def schema(c):
    """Write labs/lab.schema.json, lab.yaml's JSON schema for editors, from the model that validates it.

    Example: invoke schema
    """
    _run(c, lambda s, t: _authoring().write_schema(s, t))


@task(name="list", help={"lang": "en or zh: the language of the table (default: FORKLAB_LANG, else en)"})
def list_(c, lang=""):
    """List the labs with their tutorial verdicts and last report status.

    Examples: invoke list    invoke list --lang zh
    """
    _run(c, lambda s, t: _commands().list_labs(s, t), lang)


@task
def build(c):
    """Build the lab image (skipped when nothing that goes into it changed).

    Example: invoke build
    """
    _run(c, lambda s, t: _commands().build(s, t))


@task(help={"force": "make it again even if it exists",
            "arch": "amd64 or arm64 (default: the engine's); another than the host's needs qemu binfmt"})
def base(c, force=False, arch=""):
    """Make the offline base image from a Debian mirror (no container registry needed).

    Examples: invoke base    invoke base --force --arch arm64
    """
    _run(c, lambda s, t: _commands().base(s, t, force, arch))


@task(help={"number": "lab number, e.g. 3"})
def shell(c, number):
    """Open a shell in the lab image, in lab NUMBER's folder, under the same sandbox.

    Example: invoke shell 3
    """
    _run(c, lambda s, t: _commands().shell(s, number, t))


@task
def doctor(c):
    """Say which container engine forklab finds, and how to fix what is wrong.

    Example: invoke doctor
    """
    _run(c, lambda s, t: _commands().doctor(s, t))


@task(help={"images": "also remove the kit's images"})
def clean(c, images=False):
    """Remove every container the kit left behind (and its images with --images).

    Examples: invoke clean    invoke clean --images
    """
    _run(c, lambda s, t: _commands().clean(s, t, images))


def _parse_errors_exit_2() -> None:
    """An unknown option or a missing lab number is a usage error: exit 2, one line.

    Invoke exits 1 on a ParseError; forklab's exit codes (docs/ARCHITECTURE.md) say 2.
    Invoke offers no hook for this, so its task parsing is wrapped here.
    """
    if getattr(Program.parse_tasks, "forklab", False):
        return
    original = Program.parse_tasks

    def parse_tasks(self):
        tokens = list(self.core.unparsed)
        asked = _help_asked(tokens)
        if asked:
            # `invoke lab --help`: Invoke would take --help for the lab number.
            self.parser = self._make_parser()
            self.print_task_help(asked)
            raise Exit(code=0)
        try:
            self.core.unparsed = _check_path_as_option(tokens)
            self.core.unparsed = _check_lab_number_as_option(list(self.core.unparsed))
            original(self)
        except ParseError as exc:
            name = getattr(getattr(exc, "context", None), "name", None)
            if name in ns.task_names and "positional" in str(exc):
                raise Exit(f"forklab: {exc}; {_usage(name)}; see `invoke --help {name}`", code=2) from None
            where = f"invoke --help {name}" if name in ns.task_names else "invoke --help TASK"
            raise Exit(f"forklab: {exc}; see `{where}`", code=2) from None
        # Invoke takes its own flags after a task too (`invoke lab 3 -e` would turn on --echo):
        # after a task, only the task's options mean something.
        for name, argument in self.core_via_tasks.args.items():
            if argument.got_value and name != "help":
                task = self.tasks[0].name if self.tasks else ""
                flags = self.initial_context.flags
                flag = next((token for token in tokens if token in flags and flags[token].name == name),
                            f"--{name.replace('_', '-')}")
                raise Exit(f"forklab: {flag} is not an option of `invoke {task}` (Invoke's own options go "
                           f"before the task); see `invoke --help {task}`", code=2)

    parse_tasks.forklab = True  # type: ignore[attr-defined]  # a mark on the function: Invoke's is wrapped once
    Program.parse_tasks = parse_tasks  # type: ignore[method-assign]  # Invoke's parser, wrapped once on purpose


def _help_asked(tokens: list) -> str:
    """The task whose help `invoke TASK ... --help` asks for ("" when none): Invoke takes a --help
    after a task for the value of a positional argument the task still needs."""
    if not tokens or tokens[0] not in ns.task_names:
        return ""
    for before, token in zip(tokens, tokens[1:]):
        if token in ("--help", "-h") and (before == tokens[0] or not before.startswith("-")
                                          or before in _FLAGS_WITHOUT_VALUE):
            return tokens[0]
    return ""


#: Options that take no value, so that a --help after them is a request for help.
_FLAGS_WITHOUT_VALUE = {"--chaos", "--predict", "--verbose", "-v", "--tty", "--compute", "--again", "--force",
                        "--images", "-i"}


def _usage(name: str) -> str:
    """`invoke NAME`'s usage and its first example, on one line: "usage: invoke lab NUMBER [--options],
    e.g. invoke lab 3"."""
    task = ns[name]
    required = "".join(f" {arg.name.upper()}" for arg in task.get_arguments() if arg.positional)
    usage = f"usage: invoke {name}{required} [--options]"
    for line in (task.__doc__ or "").splitlines():
        if line.strip().startswith("Example"):
            example = line.split(":", 1)[1].strip().split("    ")[0]
            return f"{usage}, e.g. {example}"
    return usage


#: Options of `invoke check` that take a value, so that their values are not taken for its PATH.
_CHECK_VALUE_OPTIONS = {"--lang", "-l", "--number", "-n", "--path", "-p", "--summary", "-s"}


def _check_path_as_option(tokens: list) -> list:
    """`invoke check 13 work/13.py`: Invoke's positional arguments are all required, so the
    optional PATH after the number is handed to Invoke as `--path work/13.py`."""
    if "check" not in tokens:
        return tokens
    at, plain = tokens.index("check") + 1, 0
    while at < len(tokens):
        token = tokens[at]
        if token in _CHECK_VALUE_OPTIONS:
            at += 2
            continue
        if not token.startswith("-"):
            plain += 1
            if plain == 2:
                return tokens[:at] + ["--path"] + tokens[at:]
        at += 1
    return tokens


def _check_lab_number_as_option(tokens: list) -> list:
    """`invoke check-lab 3`: the lab number is optional (every lab without it), and Invoke's
    positional arguments are all required, so it is handed to Invoke as `--number 3`."""
    if "check-lab" not in tokens:
        return tokens
    at = tokens.index("check-lab") + 1
    while at < len(tokens) and tokens[at].startswith("-"):
        if tokens[at] in ("--number", "-n"):
            return tokens
        at += 2 if tokens[at] in ("--lang", "-l") else 1
    if at < len(tokens) and tokens[at] not in ns.task_names:
        return tokens[:at] + ["--number"] + tokens[at:]
    return tokens


_parse_errors_exit_2()
install_signal_handlers()
ns = Collection(lab, labs, report, verify, run_, puzzle, check, grade, autograder, handout, list_, new, check_lab,
                schema, build, base, shell, doctor, clean)
ns.configure({"forklab": dict(DEFAULTS)})
