"""Finds labs and loads their lab.yaml, refusing anything it does not understand.

A lab is a folder ``labs/NN-slug/`` holding ``lab.py`` (the experiment),
``lab.yaml`` (what it is, how to run it, what must be true) and ``README.md``
(the lesson).  Nothing about a lab lives outside its folder.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Dict, List, Literal, Mapping, Optional, Union

import yaml
from pydantic import (  # noqa: F401
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from forklab.errors import UsageError

# The container's variables: the lab's archive (the runner unpacks it), the variant's name (the lab reads it).
from forklab.inside.protocol import ARCHIVE_ENV, VARIANT_ENV
from forklab.settings import LAB_FOLDER, cache_dir

#: An exercise's files: what its students get, and the reference that passes every check.
STARTER = "starter.py"
SOLUTION = "solution.py"

#: In a `lines` pattern, {pid:child} stands for the pid of the process named child.
PID_PLACEHOLDER = re.compile(r"\{pid:([A-Za-z][A-Za-z0-9_.-]{0,31})\}")
#: A role a check names: one a checkpoint gave, or a name from the fork tree (main.2, main.2.1).
ROLE = r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$"
#: Process states as ps prints them in the first letter of STAT.
STATES = ("R", "S", "D", "Z", "T", "t", "X", "I")
#: The hard ceilings a lab.yaml may loosen limits up to.
MAX_TIMEOUT_S = 600
MAX_PIDS = 4096
MAX_MEMORY_MB = 4096
MAX_OUTPUT_MB = 64
#: `docker stop -t N` for a run whose runner stepped aside: short, so a PID 1
#: that ignores SIGTERM costs the lab 2 s, not Docker's default 10.
DEFAULT_STOP_TIMEOUT_S = 2
MAX_STOP_TIMEOUT_S = 30
#: Settings only the runner acts on, with their defaults: a run whose runner
#: steps aside (pid1: lab or init) must leave them alone.
RUNNER_ONLY = {"stdout": "pipe", "reaper": True, "descendants": "wait", "snapshot_start": False,
               "interval": 0}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


CLAIM_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
#: Every claim the labs test, each with one verdict, beside the lab folders.
CLAIMS_FILE = "claims.yaml"


class SharedClaim(_Strict):
    """One sentence and its one verdict (labs/claims.yaml)."""

    id: str = Field(pattern=CLAIM_ID, max_length=48)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    verdict: Literal["true", "false", "partly"]
    why: str = Field(min_length=1)
    #: Where the sentence was read, when not in the tutorial the labs come from.
    source: Optional[str] = None


class Claim(_Strict):
    """A claim a lab tests: ``id`` of one in labs/claims.yaml and what this lab's run shows
    (``shows``), or, for a lab's own claim, the whole of it (zh, en, verdict, why).

    Once the lab is loaded every claim is whole: the shared sentence, its one
    verdict and why, and this lab's ``shows``.
    """

    id: Optional[str] = Field(default=None, pattern=CLAIM_ID, max_length=48)
    zh: Optional[str] = Field(default=None, min_length=1)
    en: Optional[str] = Field(default=None, min_length=1)
    verdict: Optional[Literal["true", "false", "partly"]] = None
    why: str = ""
    shows: str = ""
    source: Optional[str] = None

    @model_validator(mode="after")
    def _whole_or_referred(self) -> "Claim":
        given = [key for key in ("zh", "en", "verdict") if getattr(self, key) is not None]
        if not given and self.id is None:
            raise ValueError("give the id of a claim in labs/claims.yaml (and what this lab shows), "
                             "or a claim of the lab's own: zh, en, verdict and why")
        if given and len(given) < 3:
            missing = sorted({"zh", "en", "verdict"} - set(given))
            raise ValueError(f"a claim of the lab's own needs zh, en and verdict; missing {', '.join(missing)}")
        return self

    @property
    def referred(self) -> bool:
        """Only an id (and what this lab shows): the rest is in labs/claims.yaml."""
        return self.zh is None


class RunSettings(_Strict):
    """How the lab runs; every value here is visible in the report."""

    timeout: float = Field(default=20, gt=0, le=MAX_TIMEOUT_S)
    #: pipe (as in `docker run`, the default), tty (a pseudo-terminal), or
    #: tty-session (a pseudo-terminal that is the controlling terminal of main's
    #: session: when main exits, its foreground gets SIGHUP).
    stdout: Literal["pipe", "tty", "tty-session"] = "pipe"
    reaper: bool = True
    unbuffered: bool = False
    #: When main exits: wait for every descendant (a shell, a pipe read to EOF),
    #: or kill them all at once (what a container does when its main process exits).
    descendants: Literal["wait", "kill"] = "wait"
    pids_limit: int = Field(default=64, ge=8, le=MAX_PIDS)
    memory_mb: int = Field(default=256, ge=32, le=MAX_MEMORY_MB)
    #: stdout and stderr are each kept up to this size; the rest is counted and dropped.
    output_cap_mb: float = Field(default=4, gt=0, le=MAX_OUTPUT_MB)
    #: A snapshot as soon as the program has started, and every `interval` seconds (0: none).
    snapshot_start: bool = False
    interval: float = Field(default=0, ge=0, le=MAX_TIMEOUT_S)
    #: Who is PID 1.  runner (the default): the kit's runner, which observes
    #: from inside.  lab: the runner steps aside and the lab's python is PID 1,
    #: as in `docker run IMAGE python3 lab.py`.  init: the runner steps aside
    #: and the engine's init is PID 1 with the lab as its child, as in
    #: `docker run --init` (Docker's docker-init, which is tini; Podman's
    #: catatonit).  Stepped aside, the host observes from outside through the
    #: engine (forklab/outside.py) and stops the container at the end.
    pid1: Literal["runner", "lab", "init"] = "runner"
    #: pid1 lab or init: the grace period of the `docker stop -t N` that ends the run.
    stop_timeout: Optional[int] = Field(default=None, ge=1, le=MAX_STOP_TIMEOUT_S)

    @model_validator(mode="after")
    def _runner_only(self) -> "RunSettings":
        if self.pid1 == "runner":
            if self.stop_timeout is not None:
                raise ValueError("stop_timeout needs pid1: lab or init (the runner is never stopped from outside)")
            return self
        # What only the runner does; stepped aside, nobody would do it.
        changed = [f"{key}: {getattr(self, key)}" for key, default in RUNNER_ONLY.items()
                   if getattr(self, key) != default]
        if changed:
            raise ValueError(f"with pid1: {self.pid1} the runner steps aside, so {', '.join(changed)} "
                             "cannot apply; remove it or use pid1: runner")
        return self

    @property
    def stepped_aside(self) -> bool:
        return self.pid1 != "runner"

    @property
    def stop_grace(self) -> int:
        """Seconds `docker stop` waits between SIGTERM and SIGKILL when the run ends stepped aside."""
        return self.stop_timeout or DEFAULT_STOP_TIMEOUT_S

    def runner_command(self, script: str, **extra) -> list[str]:
        """`python3 -m forklab.runner ...` for this run (``extra``: repeat, chaos), less the interpreter."""
        return runner_argv(script, {**self.runner_settings(), **extra})

    def runner_settings(self) -> dict:
        """The part the in-container runner needs."""
        return {"timeout": self.timeout, "stdout": self.stdout, "reaper": self.reaper,
                "unbuffered": self.unbuffered, "descendants": self.descendants,
                "output_cap": int(self.output_cap_mb * 1024 * 1024),
                "snapshot_start": self.snapshot_start, "interval": self.interval}

    def overridden(self, overrides: "RunOverrides") -> "RunSettings":
        return RunSettings(**{**self.model_dump(), **overrides.model_dump(exclude_none=True)})


class RunOverrides(_Strict):
    """A variant's changes to the lab's run settings."""

    timeout: Optional[float] = Field(default=None, gt=0, le=MAX_TIMEOUT_S)
    stdout: Optional[Literal["pipe", "tty", "tty-session"]] = None
    reaper: Optional[bool] = None
    unbuffered: Optional[bool] = None
    descendants: Optional[Literal["wait", "kill"]] = None
    pids_limit: Optional[int] = Field(default=None, ge=8, le=MAX_PIDS)
    memory_mb: Optional[int] = Field(default=None, ge=32, le=MAX_MEMORY_MB)
    output_cap_mb: Optional[float] = Field(default=None, gt=0, le=MAX_OUTPUT_MB)
    snapshot_start: Optional[bool] = None
    interval: Optional[float] = Field(default=None, ge=0, le=MAX_TIMEOUT_S)
    pid1: Optional[Literal["runner", "lab", "init"]] = None
    stop_timeout: Optional[int] = Field(default=None, ge=1, le=MAX_STOP_TIMEOUT_S)


class _Check(_Strict):
    says: Optional[str] = None  # the sentence a TA would say; generated when absent
    says_zh: Optional[str] = None  # the same in Chinese (--lang zh); generated when absent
    #: An exercise's grading (`invoke check`): what the check is worth, whether the
    #: student sees only that it passed (hidden), and what to try when it fails.
    points: int = Field(default=1, ge=0, le=100)
    hidden: bool = False
    hint: Optional[str] = Field(default=None, min_length=1)
    hint_zh: Optional[str] = Field(default=None, min_length=1)


class LinesCheck(_Check):
    check: Literal["lines"]
    match: str
    count: int = Field(ge=0)
    stream: Literal["stdout", "stderr"] = "stdout"

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(PID_PLACEHOLDER.sub("0", value))
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class StateCheck(_Check):
    check: Literal["state"]
    checkpoint: str
    role: str = Field(pattern=ROLE)
    state: Literal[STATES]  # type: ignore[valid-type]


class ParentCheck(_Check):
    check: Literal["parent"]
    checkpoint: str
    role: str = Field(pattern=ROLE)
    parent: str = Field(pattern=ROLE)


class AbsentCheck(_Check):
    check: Literal["absent"]
    checkpoint: str
    role: str = Field(pattern=ROLE)


class ExitCheck(_Check):
    check: Literal["exit"]
    role: str = Field(pattern=ROLE)
    code: Optional[int] = Field(default=None, ge=0, le=255)
    signal: Optional[str] = Field(default=None, pattern=r"^SIG[A-Z0-9]+$")

    @model_validator(mode="after")
    def _one_of(self) -> "ExitCheck":
        if (self.code is None) == (self.signal is None):
            raise ValueError("give exactly one of 'code' or 'signal'")
        return self


class ReapedCheck(_Check):
    check: Literal["reaped"]
    role: str = Field(pattern=ROLE)
    by: str = Field(pattern=ROLE)


class NoZombiesCheck(_Check):
    check: Literal["no-zombies-at-end"]


class ProcessesCheck(_Check):
    """How many processes the lab made: main and every fork."""

    check: Literal["processes"]
    count: int = Field(ge=1)


class OrdersCheck(_Check):
    """How many different outputs the program can print, by its process graph
    (fork, wait and each process's own order); the run's own output is one of them."""

    check: Literal["orders"]
    count: int = Field(ge=1)


class MemoryCheck(_Check):
    """Memory at a checkpoint: a role's rss or private memory, or the whole container's."""

    check: Literal["memory"]
    checkpoint: str
    measure: Literal["rss", "private", "container"]
    role: Optional[str] = Field(default=None, pattern=ROLE)
    min_mb: Optional[float] = Field(default=None, ge=0)
    max_mb: Optional[float] = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> "MemoryCheck":
        if self.min_mb is None and self.max_mb is None:
            raise ValueError("give min_mb, max_mb or both")
        if (self.measure == "container") != (self.role is None):
            raise ValueError("give a role for rss or private memory, and none for the container's")
        return self


class StopCheck(_Check):
    """How `docker stop` ended a run whose runner stepped aside (pid1: lab or init)."""

    check: Literal["stop"]
    #: The signal that ended the container: SIGTERM (it was heeded) or SIGKILL (it was not).
    signal: Literal["SIGTERM", "SIGKILL"]
    #: Whether the stop waited out its whole grace period (stop_timeout) first.
    waited: Optional[bool] = None


class PgidCheck(_Check):
    """A role's process group at a checkpoint: the same as another role's, or one it leads itself."""

    check: Literal["pgid"]
    checkpoint: str
    role: str = Field(pattern=ROLE)
    #: The role whose process group it is in.
    same_as: Optional[str] = Field(default=None, pattern=ROLE)
    #: true: it leads a group of its own (its pgid is its pid: after setpgid(0, 0) or setsid()); false: it does not.
    leader: Optional[bool] = None

    @model_validator(mode="after")
    def _one_of(self) -> "PgidCheck":
        if (self.same_as is None) == (self.leader is None):
            raise ValueError("give exactly one of 'same_as' (a role) or 'leader' (true or false)")
        return self


class FdsCheck(_Check):
    """A role's open file descriptors at a checkpoint: whether it holds one on a pipe's end or on a file."""

    check: Literal["fds"]
    checkpoint: str
    role: str = Field(pattern=ROLE)
    #: true: at least one of its descriptors is such; false: none is ("the reader holds no write end").
    holds: bool
    #: A pipe's read end, its write end, or either.
    pipe: Optional[Literal["read", "write", "any"]] = None
    #: With pipe: only the pipe that ROLE holds on descriptor FD at this checkpoint
    #: (``reader:3``): every process holds a pipe's write end on fd 1 when stdout is a pipe.
    of: Optional[str] = Field(default=None, pattern=ROLE.removesuffix("$") + r":\d{1,6}$")
    #: A file by its path in the container, a glob (``/tmp/lab/*.txt``); without a
    #: leading / it matches the end of the path (``data.txt``, ``*.log``).
    file: Optional[str] = Field(default=None, min_length=1)
    #: Only this descriptor (1: stdout).
    fd: Optional[int] = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_of(self) -> "FdsCheck":
        if (self.pipe is None) == (self.file is None):
            raise ValueError("give exactly one of 'pipe' (read, write or any) or 'file' (a path)")
        if self.of is not None and self.pipe is None:
            raise ValueError("'of' names a pipe (ROLE:FD), so it goes with 'pipe', not 'file'")
        return self

    @property
    def of_role(self) -> Optional[str]:
        return self.of.split(":")[0] if self.of else None

    @property
    def of_fd(self) -> Optional[int]:
        return int(self.of.split(":")[1]) if self.of else None


Expectation = Annotated[
    Union[LinesCheck, StateCheck, ParentCheck, AbsentCheck, ExitCheck, ReapedCheck, NoZombiesCheck,
          ProcessesCheck, MemoryCheck, StopCheck, PgidCheck, FdsCheck, OrdersCheck],
    Field(discriminator="check"),
]

#: Checks that need what only the runner sees from inside (reaps, every fork).
NEEDS_RUNNER = ("reaped", "processes", "orders")


class Answer(_Strict):
    """Where a prediction's answer is read from the run (exactly one of these)."""

    lines: Optional[str] = None            # how many stdout lines match this regex
    processes: Optional[bool] = None       # how many processes the lab made
    zombies_at: Optional[str] = None       # which roles are zombies (Z) at this checkpoint
    parent: Optional[str] = None           # ROLE@CHECKPOINT: that role's parent there
    stop: Optional[bool] = None            # which signal ended the container at `docker stop` (pid1: lab or init)
    orders: Optional[bool] = None          # how many different outputs the program can print (its process graph)
    possible: Optional[List[str]] = None   # is this output (these lines) possible? yes or no, by the graph

    @model_validator(mode="after")
    def _one(self) -> "Answer":
        given = [key for key, value in self.model_dump().items() if value is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of lines, processes, zombies_at, parent, stop, orders, possible")
        if self.parent is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*@[^@]+", self.parent):
            raise ValueError("parent must be ROLE@CHECKPOINT, e.g. orphan@adopted")
        if self.lines is not None:
            try:
                re.compile(self.lines)
            except re.error as exc:
                raise ValueError(f"lines: not a valid regular expression: {exc}") from None
        return self


class Prediction(_Strict):
    """A question to answer before running; the run gives the answer."""

    ask: str = Field(min_length=1)
    answer: Answer
    variant: Optional[str] = None          # which variant's run answers it (default: the first)


#: Environment variables the kit sets for a lab (forklab/inside/runner.py builds its
#: environment from scratch), which a variant's ``env`` may not replace: the
#: runner's own (FORKLAB_*), Python's (buffering, encoding, the fork hook on
#: PYTHONPATH), the dynamic loader's, and the locale and paths every lab shares.
KIT_ENV_NAMES = ("PATH", "HOME", "LANG", "LANGUAGE", "TERM")
KIT_ENV_PREFIXES = ("FORKLAB_", "PYTHON", "LC_", "LD_")
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
#: A variant's env and args: a few short strings, not a way to ship data.  They
#: travel in the runner's settings, one argument of its command line, which
#: Linux caps at 128 KiB (MAX_ARG_STRLEN): 8192 characters in all stay under
#: that even when each becomes a six-character JSON escape.
MAX_VARIANT_STRINGS = 32
MAX_VARIANT_CHARS = 8192


def _kit_env_name(name: str) -> bool:
    return name in KIT_ENV_NAMES or name.startswith(KIT_ENV_PREFIXES)


class Variant(_Strict):
    """One way to run the lab; a lab's variants are shown side by side."""

    name: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=32)
    title: str = Field(min_length=1)
    run: RunOverrides = RunOverrides()
    #: Environment variables for the lab's processes (besides FORKLAB_VARIANT, the variant's name).
    env: Dict[str, str] = Field(default={}, max_length=MAX_VARIANT_STRINGS)
    #: Arguments to lab.py: ``python3 lab.py ARG ...`` (sys.argv[1:]).
    args: List[str] = Field(default=[], max_length=MAX_VARIANT_STRINGS)
    expect: List[Expectation] = []

    @field_validator("env")
    @classmethod
    def _not_the_kits(cls, env: Dict[str, str]) -> Dict[str, str]:
        for name, value in env.items():
            if not re.fullmatch(ENV_NAME, name):
                raise ValueError(f"{name!r} is not a variable name (letters, digits and _, "
                                 "not a digit first, at most 64)")
            if _kit_env_name(name):
                hint = " (for PYTHONUNBUFFERED, use run: {unbuffered: true})" if name == "PYTHONUNBUFFERED" else ""
                raise ValueError(f"{name} is the kit's own: the runner sets PATH, HOME, LANG, LANGUAGE, TERM, "
                                 f"FORKLAB_*, PYTHON*, LC_* and LD_* for every lab{hint}; choose another name")
            _no_nul(value, f"{name}'s value")
        return env

    @field_validator("args")
    @classmethod
    def _short_args(cls, args: List[str]) -> List[str]:
        for index, value in enumerate(args):
            _no_nul(value, f"argument {index + 1}")
        return args

    @model_validator(mode="after")
    def _few_characters(self) -> "Variant":
        total = sum(len(name) + len(value) for name, value in self.env.items()) + sum(map(len, self.args))
        if total > MAX_VARIANT_CHARS:
            raise ValueError(f"env and args come to {total} characters, more than {MAX_VARIANT_CHARS}; "
                             "put data in a file beside lab.py")
        return self


def _no_nul(value: str, what: str) -> None:
    if "\0" in value:
        raise ValueError(f"{what} holds a NUL character, which no argument or variable can carry")


class LabSpec(_Strict):
    """The whole of lab.yaml."""

    #: lab: the kit's program (lab.py) shows something.  exercise: students write
    #: the program (starter.py is what they get, solution.py the reference that
    #: `invoke lab N` runs), and `invoke check N` grades theirs against the checks.
    kind: Literal["lab", "exercise"] = "lab"
    number: int = Field(ge=1, le=99)
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    claims: List[Claim] = []
    run: RunSettings = RunSettings()
    key_checkpoint: Optional[str] = None
    #: Where the lab prints pids: regexes whose groups hold them.  The
    #: normalized report shows those numbers as roles, and no others.
    pid_patterns: List[str] = []
    #: "race" when processes print in an order that differs from run to run:
    #: the normalized report then lists the lines sorted (the measured part keeps the order).
    output_order: Literal["fixed", "race"] = "fixed"
    #: true: the program's process graph is the same in every run, so the
    #: normalized report shows how many outputs it can print (and lists them).
    orders: bool = False
    #: Checks for every variant (or for the one run, when there are no variants).
    expect: List[Expectation] = []
    variants: List[Variant] = []
    #: Questions for `invoke lab N --predict`, answered by the run.
    predict: List[Prediction] = Field(default=[], max_length=3)

    @field_validator("pid_patterns")
    @classmethod
    def _patterns_have_groups(cls, patterns: List[str]) -> List[str]:
        for pattern in patterns:
            try:
                groups = re.compile(pattern).groups
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
            if groups == 0:
                raise ValueError(f"{pattern!r} has no (group) around the pid")
        return patterns

    @model_validator(mode="after")
    def _checked(self) -> "LabSpec":
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("two variants share a name")
        if not self.expect and (not self.variants or not all(v.expect for v in self.variants)):
            raise ValueError("every run needs at least one expectation: add 'expect' "
                             "(for all variants) or give each variant its own")
        runs = [("run", self.run, self.expect)]
        for index, variant in enumerate(self.variants):
            try:
                settings = self.run.overridden(variant.run)
            except ValidationError as exc:
                raise ValueError(f"variants[{index}].run: "
                                 + exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
            runs.append((f"variants[{index}]", settings, [*self.expect, *variant.expect]))
        for where, settings, expect in runs[1:] if self.variants else runs:
            kinds = {check.check for check in expect}
            if "stop" in kinds and not settings.stepped_aside:
                raise ValueError(f"{where}: a stop check needs run: {{pid1: lab}} or {{pid1: init}}")
            needs = sorted(kinds & set(NEEDS_RUNNER))
            if needs and settings.stepped_aside:
                raise ValueError(f"{where}: with pid1: {settings.pid1} the host sees from outside, "
                                 f"where {', '.join(needs)} checks cannot be seen; use state, parent or absent")
        by_name = {variant.name: settings for variant, (_, settings, _) in zip(self.variants, runs[1:])}
        for index, prediction in enumerate(self.predict):
            # The run that answers: the named variant, else the first one (or the only run).
            named = by_name.get(prediction.variant) if prediction.variant is not None else None
            settings = named or (runs[1][1] if self.variants else self.run)
            if prediction.answer.stop and not settings.stepped_aside:
                raise ValueError(f"predict[{index}]: a stop answer needs a variant with pid1: lab or init")
        return self


@dataclass(frozen=True)
class Run:
    """One run of a lab: a variant's name, title, settings and expectations, and how lab.py is called."""

    name: str
    title: Optional[str]
    settings: RunSettings
    expect: list
    #: The variant's environment variables and arguments for lab.py.
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    args: tuple = ()

    def runner_command(self, script: str, **extra) -> list[str]:
        """`python3 -m forklab.runner ...` for this run (``extra``: repeat, chaos), less the interpreter:
        the settings, and the variant's name, env and args for the lab."""
        return runner_argv(script, self.runner_entry(**extra))

    def runner_entry(self, **extra) -> dict:
        """What the runner is told of this run: its settings, and the variant's name, env and args
        (``extra``: repeat, chaos; in a shared container, which archive and script)."""
        return {**self.settings.runner_settings(), "variant": self.name, "env": dict(self.env),
                "args": list(self.args), **extra}

    @property
    def container_key(self) -> Optional[tuple]:
        """Runs with equal keys may run in one container, one after another (the runner gives each a
        fresh process tree, /tmp and /dev/shm): their sandbox is the same, and nothing they are
        checked on depends on the container.  None: this run has a container of its own (watched from
        outside, or checked on the whole container's memory).  Only the course's own labs share
        (``Lab.shares_containers``)."""
        if self.settings.stepped_aside or any(getattr(check, "measure", None) == "container"
                                              for check in self.expect):
            return None
        return (self.settings.pids_limit, self.settings.memory_mb)

    def lab_environment(self) -> dict[str, str]:
        """What this run adds to the lab's environment: the variant's env and its name (FORKLAB_VARIANT)."""
        return {**self.env, VARIANT_ENV: self.name}


@dataclass(frozen=True)
class Lab:
    """A lab folder and its validated lab.yaml (or, for `invoke run`, a script made into one)."""

    path: Path
    spec: LabSpec

    #: For `invoke run`: the file to run inside the archive, and the archive.
    script_name: Optional[str] = None
    archive: Optional[bytes] = None
    #: Changes to every run's settings from the command line (--timeout, --pids, ...).
    overrides: Optional[RunOverrides] = None
    #: `invoke run`: the report folder's name, when another script already has the plain one.
    report_as: Optional[str] = None
    #: The file a lab folder's archive runs: lab.py, or an exercise's solution.py.
    program_name: str = "lab.py"
    #: `invoke check`: the student's file that is run as the exercise's program.
    submission: Optional[Path] = None

    @property
    def source_id(self) -> str:
        """`invoke run`: a fingerprint of the script's path (as given, symlinks not followed),
        kept in result.json so two scripts of one name never share a report folder.
        A hash, not the path: reports are handed in and should not carry home folders."""
        import hashlib

        return hashlib.sha256(os.path.abspath(self.path).encode("utf-8", "surrogateescape")).hexdigest()[:16]

    @property
    def number(self) -> int:
        return self.spec.number

    @property
    def kind(self) -> str:
        """lab (a lab folder's own program), run (`invoke run`) or check (`invoke check`: a submission)."""
        if self.submission is not None:
            return "check"
        return "lab" if self.script_name is None else "run"

    @property
    def solution_path(self) -> Path:
        """An exercise's reference program (absent in a student's copy)."""
        return self.path / SOLUTION

    @property
    def starter_path(self) -> Path:
        """An exercise's program as its students get it, with TODOs."""
        return self.path / STARTER

    @property
    def missing_solution(self) -> bool:
        """An exercise whose reference is not here (a student's copy): `invoke lab N` has nothing to run."""
        return self.spec.kind == "exercise" and self.archive is None

    def program(self) -> tuple[str, bytes]:
        """(the file to run, a compressed tar archive of the files it needs), sent along with each container."""
        if self.missing_solution:
            raise UsageError(f"lab {self.number:02d} is an exercise and this copy has no {SOLUTION}; "
                             f"check your own program with `invoke check {self.number}`")
        if self.archive is not None:
            return self.script_name or self.program_name, self.archive
        return "lab.py", pack(lab_files(self.path), compress=True)

    def shipped(self, number: int = 0) -> tuple[str, dict[str, str]]:
        """The lab as its container receives it: the file to run, and the environment that
        carries the archive (forklab/inside/runner.py unpacks it to /tmp/lab); ``number``: which
        archive of a container that runs several labs."""
        script, archive = self.program()
        return script, archive_environment(archive, number)

    @property
    def shares_containers(self) -> bool:
        """Whether this lab's runs may share containers (with each other, and with other labs'). A
        course's lab, yes; a student's program (`invoke check`) or a script (`invoke run`), no: what a
        run can leave in a container goes beyond what the runner clears between runs (System V IPC, a
        POSIX message queue, a keyring), and a submission's runs must not be able to reach each other."""
        return self.kind == "lab"

    @property
    def container_name(self) -> str:
        return {"check": f"check{self.number:02d}", "lab": f"lab{self.number:02d}", "run": "run"}[self.kind]

    @property
    def folder(self) -> str:
        return self.path.name

    @property
    def report_name(self) -> str:
        """reports/lab-03, or reports/run-fork-bomb for `invoke run fork_bomb.py`
        (``report_as`` when `invoke run` had to tell two scripts of one name apart)."""
        if self.kind == "check":
            return f"check-{self.number:02d}"
        if self.kind == "lab":
            return f"lab-{self.number:02d}"
        return self.report_as or run_report_name(self.path)

    def runs(self) -> list["Run"]:
        """What `invoke lab N` runs: each variant, or the lab once."""
        extra = self.overrides or RunOverrides()
        try:
            if not self.spec.variants:
                return [Run(name="default", title=None, settings=self.spec.run.overridden(extra),
                            expect=list(self.spec.expect))]
            return [Run(name=v.name, title=v.title, settings=self.spec.run.overridden(v.run).overridden(extra),
                        expect=list(self.spec.expect) + list(v.expect), env=dict(v.env), args=tuple(v.args))
                    for v in self.spec.variants]
        except ValidationError as exc:
            # lab.yaml was valid alone: the command line's options (--interval ...) do not fit it.
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise UsageError(f"lab {self.number:02d}: the command-line options do not fit its runs: {message}") \
                from None

    @property
    def key_checkpoint(self) -> Optional[str]:
        """The snapshot a student should look at first."""
        if self.spec.key_checkpoint:
            return self.spec.key_checkpoint
        for check in [*self.spec.expect, *(c for v in self.spec.variants for c in v.expect)]:
            if getattr(check, "checkpoint", None):
                return check.checkpoint  # type: ignore[union-attr]  # only the checks that name a checkpoint get here
        return None


CHECK_KINDS = ("lines", "state", "parent", "absent", "exit", "reaped", "no-zombies-at-end", "processes",
               "memory", "stop", "pgid", "fds", "orders")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def find_labs(labs_dir: Path) -> dict[int, Path]:
    """Lab folders by number, without reading them."""
    if not labs_dir.is_dir():
        raise UsageError(f"{labs_dir}: no labs folder here; run invoke from the forklab checkout")
    found: dict[int, Path] = {}
    for path in sorted(labs_dir.iterdir()):
        match = LAB_FOLDER.match(path.name)
        if not match or not path.is_dir():
            continue
        number = int(match.group(1))
        if number in found:
            raise UsageError(f"{labs_dir}: two labs are numbered {number:02d} "
                             f"({found[number].name} and {path.name}); renumber one")
        found[number] = path
    return found


def lab_list_text(labs: dict[int, Path]) -> str:
    return ", ".join(path.name for _, path in sorted(labs.items())) or "none"


def parse_number(text: str, labs: dict[int, Path]) -> int:
    """'3' or '03' to 3, or a one-line error that lists the labs."""
    text = str(text).strip()
    if not re.fullmatch(r"\d{1,2}", text):
        raise UsageError(f"{text!r} is not a lab number; the labs are {lab_list_text(labs)}")
    number = int(text)
    if number not in labs:
        raise UsageError(f"there is no lab {number:02d}; the labs are {lab_list_text(labs)}")
    return number


def _where(loc: tuple) -> str:
    """pydantic's error path as lab.yaml spells it: ``expect[1].state``."""
    text = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in CHECK_KINDS and index > 0 and isinstance(loc[index - 1], int) \
                and "expect" in loc[:index]:
            continue  # the union's tag that pydantic adds after the index; the index already says which
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def _models_in(annotation) -> list:
    """The models a field's type can hold: ``List[X]``, ``Optional[X]``, a union of checks, unwrapped."""
    import typing

    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (Union, list, List):
        return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys lab.yaml may give at ``loc`` (pydantic's path to a mapping), or [] when that cannot be told."""
    models: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: the same models
        # A union of checks: pydantic's path names the member by its tag (expect[0].state.rol).
        tagged = [m for m in models if "check" in m.model_fields and part in
                  getattr(m.model_fields["check"].annotation, "__args__", ())]
        if tagged:
            models = tagged
            continue
        models = [found for m in models if part in m.model_fields
                  for found in _models_in(m.model_fields[part].annotation)]
    return sorted({key for m in models for key in m.model_fields})


def _did_you_mean(model: type, loc: tuple) -> str:
    """``; did you mean `expect`?`` for a key that is close to one the model knows (expext:)."""
    import difflib

    key = loc[-1] if loc else None
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, _keys_at(model, loc[:-1]), n=1)
    return f"; did you mean `{close[0]}`?" if close else ""


def _annotation_at(model: Any, loc: tuple) -> Any:
    """The type lab.yaml's key at ``loc`` is declared with (Optional unwrapped), or None."""
    import typing

    if not loc or not isinstance(loc[-1], str):
        return None
    models = [model]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        tagged = [m for m in models if "check" in m.model_fields and part in
                  getattr(m.model_fields["check"].annotation, "__args__", ())]
        models = tagged or [found for m in models if part in m.model_fields
                            for found in _models_in(m.model_fields[part].annotation)]
    for m in models:
        if loc[-1] in m.model_fields:
            annotation = m.model_fields[loc[-1]].annotation
            if typing.get_origin(annotation) is Union:
                annotation = next((a for a in typing.get_args(annotation) if a is not type(None)), None)
            return annotation
    return None


#: Patterns lab.yaml's values must match, said as what to write.
PATTERN_WORDS = {
    ROLE: "give a name: a letter, then at most 31 letters, digits, _, . or -",
    CLAIM_ID: "use lower-case letters and digits, joined by single hyphens",
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$": "use lower-case letters and digits, joined by single hyphens",
    r"^SIG[A-Z0-9]+$": "give a signal's name, such as SIGTERM",
    ROLE.removesuffix("$") + r":\d{1,6}$": "give ROLE:FD, such as reader:3",
}


def plain_error(error: dict, model: Optional[type] = None) -> str:
    """pydantic's error said in the kit's words, without the place: ``give a whole number of at least 8``.

    A message of the kit's own (a validator's ValueError) is kept; a kind of
    error not known here keeps pydantic's wording.
    """
    kind = error["type"]
    ctx = error.get("ctx") or {}
    annotation = _annotation_at(model or LabSpec, tuple(error.get("loc") or ()))
    number = "whole number" if annotation is int else "number"

    def bound(name: str) -> str:
        value = ctx.get(name)
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if kind == "missing":
        return "required but missing"
    if kind == "greater_than_equal":
        return f"give a {number} of at least {bound('ge')}"
    if kind == "greater_than":
        return f"give a {number} greater than {bound('gt')}"
    if kind == "less_than_equal":
        return f"give a {number} of at most {bound('le')}"
    if kind == "less_than":
        return f"give a {number} below {bound('lt')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "give a whole number"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return "give a number"
    if kind in ("bool_type", "bool_parsing"):
        return "give true or false"
    if kind == "string_type":
        shown = error.get("input")
        if isinstance(shown, bool):
            return "give text (in quotes: YAML reads this as true or false)"
        if isinstance(shown, (int, float)):
            return "give text (in quotes: YAML reads this as a number)"
        return "give text"
    if kind == "string_too_short":
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"give at least {least} characters"
    if kind == "string_too_long":
        return f"give at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return PATTERN_WORDS.get(pattern) or f"must match the pattern {pattern}"
    if kind in ("literal_error", "enum"):
        return f"give {ctx.get('expected')}"
    if kind == "too_short":
        least = ctx.get("min_length")
        return f"give at least {least} item{'s' if least != 1 else ''}"
    if kind == "too_long":
        actual = f", not {ctx['actual_length']}" if ctx.get("actual_length") is not None else ""
        return f"give at most {ctx.get('max_length')} items{actual}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "give a list ([a, b], or one `- item` per line)"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "give a mapping (key: value)"
    return error["msg"].removeprefix("Value error, ")


def _explain(error: dict, model: Optional[type] = None) -> str:
    where = _where(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key" + _did_you_mean(model or LabSpec, tuple(error["loc"]))
    if kind == "missing":
        return f"{where}: required but missing"
    if kind == "union_tag_invalid":
        return (f"{where}: unknown check {error['input'].get('check')!r}; allowed: "
                + ", ".join(CHECK_KINDS))
    if kind == "union_tag_not_found":
        return f"{where}: each expectation needs a 'check' key"
    message = plain_error(error, model)
    if not error["loc"] and re.match(r"^(run|variants\[\d+\]|predict\[\d+\])[.:]", message):
        return message  # the whole file's check, and it names the place itself
    shown = error.get("input")
    if isinstance(shown, (dict, list)):
        return f"{where}: {message}"
    return f"{where}: {message} (got {shown!r})"


def load_lab(path: Path) -> Lab:
    """Read and validate ``path/lab.yaml``; errors name the file and the key."""
    return _load(path, packed=True)


def lab_spec(path: Path) -> "LabSpec":
    """``load_lab(path).spec``, with every check load_lab makes, but its files not packed
    (the index lists every lab and runs none)."""
    return _load(path, packed=False).spec


def _load(path: Path, packed: bool) -> Lab:
    yaml_path = path / "lab.yaml"
    folder = Path(os.path.realpath(path))
    if not any((path / name).exists() or (path / name).is_symlink() for name in ("lab.py", STARTER)):
        raise UsageError(f"{path / 'lab.py'}: missing; every lab folder needs its program "
                         f"(an exercise's folder: its {STARTER})")
    if not yaml_path.exists() and not yaml_path.is_symlink():
        raise UsageError(f"{yaml_path}: missing; copy one from another lab and edit it")
    raw = read_file(yaml_path, folder, MAX_LAB_YAML_BYTES, "a lab.yaml may hold")
    key = _spec_key(raw, path.parent)
    spec = _SPECS.get(key) or _cached_spec(yaml_path, key)
    if spec is None:
        spec = _validated(raw, path, yaml_path)
        _keep_spec(yaml_path, key, spec)
    else:
        _number_matches(spec, path, yaml_path)
    # Packed now, so a link out of the folder or an oversized lab is refused
    # before anything runs (and `invoke labs` checks every lab first).
    files = lab_files(path)
    if spec.kind == "exercise":
        return _exercise(path, spec, files, packed)
    if "lab.py" not in dict(files):
        raise UsageError(f"{path / 'lab.py'}: not a regular file; every lab folder needs its program")
    return Lab(path=path, spec=spec, archive=pack(files, compress=True) if packed else None)


def _validated(raw: bytes, path: Path, yaml_path: Path) -> "LabSpec":
    """lab.yaml's bytes parsed, validated and its claims made whole; errors name the file and the key."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{yaml_path}: not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{yaml_path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{yaml_path}: must be a mapping of keys (number, title, ...)")
    try:
        spec = LabSpec.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # A misspelt key (rol:) also leaves the key it meant missing: the misspelling is the one to name.
        first = next((e for e in errors if e["type"] == "extra_forbidden"
                      and _did_you_mean(LabSpec, tuple(e["loc"]))), errors[0])
        raise UsageError(f"{yaml_path}: {_explain(first)}{more}") from None  # type: ignore[arg-type]  # pydantic's ErrorDetails is a TypedDict of a dict
    _number_matches(spec, path, yaml_path)
    return spec.model_copy(update={"claims": _whole_claims(spec.claims, path.parent, yaml_path)})


def _number_matches(spec: "LabSpec", path: Path, yaml_path: Path) -> None:
    match = LAB_FOLDER.match(path.name)
    if match and int(match.group(1)) != spec.number:
        raise UsageError(f"{yaml_path}: number: {spec.number} does not match the folder "
                         f"name {path.name}; make them agree")


# -- validated lab.yaml, kept by content ------------------------------------------
#
# Reading a lab.yaml (PyYAML's pure-Python parser, then pydantic) costs about
# 10 ms; `invoke lab N` also reads every lab for the index.  A validated spec is
# kept, in this process and in the user's cache folder, under a hash of all it
# was made from: lab.yaml's bytes, labs/claims.yaml's bytes, and the kit itself
# (this file's bytes, forklab's, pydantic's, PyYAML's and Python's versions).
# Any change to one of them is another key, so a stale spec is never used.
# Only specs that validated are kept; a broken lab.yaml is read, and refused,
# every time.  The folder-name check and everything about the folder's other
# files (lab_files) run on every load.

_SPECS: dict = {}
_KIT_STAMP: list = []


def _kit_stamp() -> bytes:
    if not _KIT_STAMP:
        import hashlib
        import sys

        import pydantic

        from forklab import __version__

        digest = hashlib.sha256(Path(__file__).read_bytes())
        for part in (__version__, pydantic.VERSION, yaml.__version__, sys.version):
            digest.update(b"\0" + str(part).encode())
        _KIT_STAMP.append(digest.digest())
    return _KIT_STAMP[0]


def _spec_key(raw: bytes, labs_dir: Path) -> str:
    import hashlib

    claims = labs_dir / CLAIMS_FILE
    try:
        shared = read_file(claims, Path(os.path.realpath(labs_dir)), MAX_LAB_YAML_BYTES) \
            if claims.exists() or claims.is_symlink() else b""
    except UsageError:
        shared = None  # refused again, with its own words, when the claims are made whole
    digest = hashlib.sha256(_kit_stamp())
    for part in (raw, b"none" if shared is None else b"claims:" + shared):
        digest.update(str(len(part)).encode() + b"\0" + part)
    return digest.hexdigest()


def _spec_cache_file(yaml_path: Path) -> Path:
    """One file per lab.yaml (by its absolute path): it holds the spec of that file's last content."""
    import hashlib

    name = hashlib.sha256(os.path.abspath(yaml_path).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir("labs") / f"{name}.spec"


def _cached_spec(yaml_path: Path, key: str) -> Optional["LabSpec"]:
    """The spec kept for ``key``, or None (none kept, another content's, unreadable, not this user's)."""
    import pickle

    try:
        path = _spec_cache_file(yaml_path)
        with open(path, "rb") as handle:
            if hasattr(os, "getuid") and os.fstat(handle.fileno()).st_uid != os.getuid():
                return None
            data = handle.read()
        stored, _, body = data.partition(b"\n")
        if stored != key.encode():
            return None
        spec = pickle.loads(body)  # noqa: S301 - this user's own cache, written by _keep_spec
    except Exception:  # noqa: BLE001 - any trouble reading it: validate again
        return None
    if not isinstance(spec, LabSpec):
        return None
    _SPECS[key] = spec
    return spec


def _keep_spec(yaml_path: Path, key: str, spec: "LabSpec") -> None:
    """Keep ``spec`` in memory and, where the cache folder can be written, on disk (whole or not at all)."""
    import pickle
    import uuid

    _SPECS[key] = spec
    try:
        path = _spec_cache_file(yaml_path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        try:
            with open(fresh, "wb") as handle:
                handle.write(key.encode() + b"\n" + pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(fresh, path)
        finally:
            if fresh.exists():
                fresh.unlink()
        _prune(path.parent)
    except Exception:  # noqa: BLE001 - a read-only home: validate every time
        pass


#: Spec files kept at most (one per lab.yaml path; test runs make many): the oldest go first.
MAX_CACHED_SPECS = 256


def _prune(folder: Path) -> None:
    kept = list(folder.glob("*.spec"))
    if len(kept) <= MAX_CACHED_SPECS:
        return
    kept.sort(key=lambda path: path.stat().st_mtime)
    for path in kept[:len(kept) - MAX_CACHED_SPECS // 2]:
        path.unlink(missing_ok=True)


def _exercise(path: Path, spec: LabSpec, files: list[tuple[str, bytes]], packed: bool = True) -> Lab:
    """An exercise folder: starter.py always; solution.py, the program `invoke lab N` runs,
    unless this is a student's copy (`invoke handout` leaves it out)."""
    names = dict(files)
    if STARTER not in names:
        raise UsageError(f"{path / STARTER}: missing; an exercise (kind: exercise) gives its students "
                         "a starter.py")
    if "lab.py" in names:
        raise UsageError(f"{path / 'lab.py'}: an exercise has no lab.py; its program is {SOLUTION} "
                         f"(the reference) and {STARTER} (what students get)")
    if SOLUTION not in names:
        return Lab(path=path, spec=spec, program_name=SOLUTION)
    shipped = [(name, data) for name, data in files if name != STARTER]
    return Lab(path=path, spec=spec, archive=pack(shipped, compress=True) if packed else None,
               program_name=SOLUTION)


def exercise_data(lab: "Lab") -> list[tuple[str, bytes]]:
    """The files of an exercise folder that go along with a submission: neither the
    reference, nor the starter, nor lab.yaml (whose hidden checks a submission must not read)."""
    return [(name, data) for name, data in lab_files(lab.path)
            if name not in (SOLUTION, STARTER, "lab.yaml")]


def load_submission(lab: "Lab", path: Path) -> "Lab":
    """`invoke check N PATH`: a student's program made into exercise ``lab``'s program.

    It runs with the exercise's run settings and checks, the files of its
    folder beside it (exercise_data), under its own name.  Read as `invoke
    run` reads a script: a regular .py file inside its folder, NUL-free, at
    most MAX_SCRIPT_BYTES.
    """
    import dataclasses

    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path}: no such file")
    if path.is_dir() or path.suffix != ".py":
        raise UsageError(f"{path}: not a Python file; give the .py file you wrote")
    source = read_file(path, Path(os.path.realpath(path.parent)), MAX_SCRIPT_BYTES, "`invoke check` sends")
    if b"\0" in source:
        raise UsageError(f"{path}: not Python source (it holds NUL bytes)")
    files = [*(item for item in exercise_data(lab) if item[0] != path.name), (path.name, source)]
    return dataclasses.replace(lab, script_name=path.name, archive=pack(files, compress=True),
                               submission=Path(os.path.abspath(path)))


_SHARED_CLAIMS: dict = {}


def shared_claims(labs_dir: Path) -> dict[str, SharedClaim]:
    """labs/claims.yaml by id ({} when there is none), read once per content."""
    path = labs_dir / CLAIMS_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    raw = read_file(path, Path(os.path.realpath(labs_dir)), MAX_LAB_YAML_BYTES, "a claims.yaml may hold")
    if raw in _SHARED_CLAIMS:
        return _SHARED_CLAIMS[raw]
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, list):
        raise UsageError(f"{path}: must be a list of claims (id, zh, en, verdict, why)")
    claims: dict[str, SharedClaim] = {}
    sentences: dict[str, str] = {}
    for index, item in enumerate(data):
        try:
            claim = SharedClaim.model_validate(item)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise UsageError(f"{path}: [{index}]{'.' if error['loc'] else ''}{_where(error['loc'])}: "
                             f"{_explain(error, SharedClaim).split(': ', 1)[-1]}") from None  # type: ignore[arg-type]  # pydantic's ErrorDetails is a TypedDict of a dict
        if claim.id in claims:
            raise UsageError(f"{path}: the id {claim.id!r} is given twice")
        if claim.zh in sentences:
            raise UsageError(f"{path}: claims {sentences[claim.zh]!r} and {claim.id!r} quote the same "
                             "sentence; a sentence has one claim and one verdict")
        claims[claim.id], sentences[claim.zh] = claim, claim.id
    _SHARED_CLAIMS[raw] = claims
    return claims


def _whole_claims(claims: list, labs_dir: Path, yaml_path: Path) -> list:
    """A lab's claims made whole from labs/claims.yaml; a sentence that has a home there must be referred to."""
    shared = shared_claims(labs_dir)
    by_sentence = {claim.zh: claim for claim in shared.values()}
    whole = []
    for index, claim in enumerate(claims):
        if claim.referred:
            home = shared.get(claim.id)
            if home is None:
                known = ", ".join(sorted(shared)) or f"none: {labs_dir / CLAIMS_FILE} is missing"
                raise UsageError(f"{yaml_path}: claims[{index}].id: no claim {claim.id!r} in "
                                 f"{labs_dir / CLAIMS_FILE}; the ids are {known}")
            whole.append(Claim(**{**home.model_dump(), "shows": claim.shows}))
            continue
        home = by_sentence.get(claim.zh) or shared.get(claim.id or "")
        if home is not None:
            raise UsageError(f"{yaml_path}: claims[{index}]: this claim is {home.id!r} in "
                             f"{labs_dir / CLAIMS_FILE}; write `- id: {home.id}` and what this lab shows")
        whole.append(claim)
    return whole


#: What travels with a container, at most: `invoke run`'s script (and the files
#: beside a folder's main.py), and a lab folder's lab.py and the files it ships.
#: Checked on the host before anything starts, on the files' sizes as they are
#: on disk: the archive is compressed, but random data does not compress.
MAX_SCRIPT_BYTES = 256 * 1024
MAX_LAB_BYTES = 1024 * 1024
#: lab.yaml is read whole; a real one is a few KiB.
MAX_LAB_YAML_BYTES = 256 * 1024
#: The archive travels base64-encoded in the container's environment, cut into
#: variables of this many characters: Linux refuses any one environment string
#: over 128 KiB (MAX_ARG_STRLEN), and all of them together over a quarter of the
#: stack limit (2 MiB with the usual 8 MiB), which MAX_LAB_BYTES keeps well under.
ARCHIVE_PART_CHARS = 96 * 1024


#: Text files get LF line endings on the way in: a Windows checkout may have CRLF.
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".txt", ".sh", ".json", ".md", ""}


def _ships(relative: Path) -> bool:
    """What of a lab folder goes into the container: not the lessons, caches or hidden files."""
    return not (relative.name.startswith("README") or "__pycache__" in relative.parts
                or relative.suffix == ".pyc" or any(part.startswith(".") for part in relative.parts))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _inside(path: Path, folder: Path) -> Path:
    """``path``'s real location, refused unless it lies inside ``folder`` (already resolved).

    A symbolic link may point anywhere on the host (``ln -s /etc/shadow``); what
    it points to must never be read, shipped into a container or written into a report.
    """
    try:
        target = Path(os.path.realpath(path))
    except OSError as exc:  # a loop of links
        raise UsageError(f"{path}: cannot follow this symbolic link ({exc.strerror}); remove it") from None
    if target != folder and folder not in target.parents:
        raise UsageError(f"{path}: a symbolic link to {target}, outside {folder}; forklab sends only "
                         "files that are inside the folder: copy the file in or remove the link")
    return target


def read_file(path: Path, folder: Path, limit: int, what: str = "") -> bytes:
    """The bytes of a regular file inside ``folder``: its type and size are checked before it is read.

    /dev/zero, a FIFO or an 8 GB sparse file is refused in one line instead of
    filling memory or waiting forever.
    """
    target = _inside(path, folder)
    try:
        info = os.stat(target)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: {_kind(info.st_mode)}, not a regular file; give a file")
    if info.st_size > limit:
        raise UsageError(f"{path}: {_size(info.st_size)} is more than {what or 'forklab reads'} "
                         f"({_size(limit)})")
    try:
        with open(target, "rb") as handle:
            data = handle.read(limit + 1)  # a file that grows while it is read stops at the limit
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > limit:
        raise UsageError(f"{path}: more than {what or 'forklab reads'} ({_size(limit)})")
    return data


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{-(-count // 1024)} KiB"


def folder_files(folder: Path, limit: int, what: str, keep=lambda relative: True) -> list[tuple[str, bytes]]:
    """(path inside the folder, bytes) for every file of ``folder`` that ``keep`` accepts, in order.

    Symbolic links are checked, never blindly followed: one that points outside
    the folder is refused, one to a folder inside is skipped (its files are
    already here).  Anything that is not a regular file is refused, and the
    total size is checked against ``limit`` before each file is read.
    """
    root = Path(os.path.realpath(folder))
    found: list[tuple[str, bytes]] = []
    total = 0
    for where, folders, files in os.walk(root, followlinks=False):
        here = Path(where)
        folders[:] = sorted(name for name in folders if keep(Path(os.path.relpath(here / name, root)))
                            and "__pycache__" != name and not name.startswith("."))
        for name in list(folders):
            if (here / name).is_symlink():
                _inside(here / name, root)
                folders.remove(name)
        for name in sorted(files):
            path = here / name
            relative = Path(os.path.relpath(path, root))
            if not keep(relative) or name.startswith(".") or name.endswith(".pyc"):
                continue
            target = _inside(path, root)
            try:
                size = os.stat(target).st_size
            except OSError as exc:
                raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
            total += size
            if total > limit:
                raise UsageError(f"{folder}: its files come to more than {what} ({_size(limit)}); "
                                 "keep large data files out of it")
            found.append((relative.as_posix(), read_file(path, root, limit, what)))
    return found


def lab_files(folder: Path) -> list[tuple[str, bytes]]:
    """What of a lab folder travels with its container: lab.py and the files beside it, not its lessons."""
    return folder_files(folder, MAX_LAB_BYTES, "a lab folder may hold", keep=_ships)


def pack(files: list[tuple[str, bytes]], compress: bool = False) -> bytes:
    """A tar archive of (name, bytes), the same bytes for the same files (gzip-compressed if asked)."""
    import gzip
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(files):
            if Path(name).suffix in TEXT_SUFFIXES:
                data = data.replace(b"\r\n", b"\n")
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    if not compress:
        return buffer.getvalue()
    return gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)


def runner_argv(script: str, settings: Union[dict, list]) -> list[str]:
    """`python3 -m forklab.runner --settings JSON SCRIPT`, less the interpreter: one run's settings,
    or a list of them for runs that share a container."""
    return ["-m", "forklab.runner", "--settings", json.dumps(settings, separators=(",", ":")), script]


def archive_environment(archive: bytes, number: int = 0) -> dict[str, str]:
    """The environment that carries an archive into a container: FORKLAB_ARCHIVE holds the number
    of parts, FORKLAB_ARCHIVE_0, _1, ... the base64 text (forklab/inside/runner.py ``take_archive``);
    the archive ``number`` N > 0 of a container that runs several labs is FORKLAB_ARCHIVEN, ..."""
    name = ARCHIVE_ENV if number == 0 else f"{ARCHIVE_ENV}{number}"
    text = base64.b64encode(archive).decode("ascii")
    parts = [text[at:at + ARCHIVE_PART_CHARS] for at in range(0, len(text), ARCHIVE_PART_CHARS)] or [""]
    return {name: str(len(parts)), **{f"{name}_{index}": part for index, part in enumerate(parts)}}


def run_report_name(path: Path) -> str:
    """reports/run-NAME for `invoke run PATH`: the file's own name (a link's, not its target's),
    letters and digits of any script kept, so ``ünï€.py`` is ``run-ünï`` and not ``run-n``."""
    stem = path.stem if path.suffix == ".py" else path.name
    text = unicodedata.normalize("NFC", stem).casefold()
    slug = re.sub(r"[^\w]+|_+", "-", text).strip("-")[:48].strip("-")
    return "run-" + (slug or "script")


def load_script(path: Path, overrides: RunOverrides, expect_exit: Union[int, str, None] = None) -> Lab:
    """`invoke run PATH`: a Python file, or a folder with main.py, made into a one-off lab.

    Nothing is read before its type, size and place are checked: only regular
    files inside the script's folder, MAX_SCRIPT_BYTES in all.
    """
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path}: no such file or folder")
    if path.is_dir():
        main = path / "main.py"
        if not main.exists() and not main.is_symlink():
            raise UsageError(f"{path}: a folder must hold a main.py to run")
        files = folder_files(path, MAX_SCRIPT_BYTES, "`invoke run` sends")
        script = "main.py"
        if script not in dict(files):
            raise UsageError(f"{main}: not a regular file; a folder must hold a main.py to run")
        source = dict(files)[script]
    else:
        if path.suffix != ".py":
            raise UsageError(f"{path}: not a Python file; give a .py file or a folder with main.py")
        folder = Path(os.path.realpath(path.parent))
        source = read_file(path, folder, MAX_SCRIPT_BYTES, "`invoke run` sends")
        # Inside the container the script keeps its own name (a link's, not its target's).
        script = path.name
        files = [(script, source)]
    if b"\0" in source:
        raise UsageError(f"{path}: not Python source (it holds NUL bytes)")
    archive = pack(files, compress=True)
    # The script is expected to end well (exit 0) unless --expect-exit names the
    # code or signal it is meant to end with: a crash is never reported as passed.
    if isinstance(expect_exit, str):
        expect = [ExitCheck(check="exit", role="main", signal=expect_exit,
                            says=f"the script is killed by {expect_exit}", says_zh=f"脚本被 {expect_exit} 杀死")]
    else:
        code = 0 if expect_exit is None else expect_exit
        expect = [ExitCheck(check="exit", role="main", code=code, says=f"the script exits with code {code}",
                            says_zh=f"脚本以退出码 {code} 结束")]
    spec = LabSpec.model_construct(
        number=0, title=path.name, summary=f"{path.name}, run in the lab sandbox with `invoke run`.",
        claims=[], run=RunSettings(snapshot_start=True), key_checkpoint=None, pid_patterns=[],
        output_order="fixed", expect=expect, variants=[], predict=[])
    # Not resolved: a link is named after itself (reports/run-link), not after what it points to.
    return Lab(path=Path(os.path.abspath(path)), spec=spec, script_name=script, archive=archive,
               overrides=overrides)
