"""forklab's tasks: a table of contents.  Each task is a few lines over the package.

    invoke lab 3        run lab 3 in a sandboxed container and write reports/lab-03/
    invoke labs         run every lab (--only 1,3,6 for some), several at a time
    invoke report       run every lab again; rewrite all reports and reports/index.*
    invoke verify       run the labs again; diff their normalized reports with those on disk
    invoke list         the labs, their verdicts and last status
    invoke build        build the lab image (only when its inputs changed)
    invoke base         make the offline Debian base image (no registry needed)
    invoke shell 3      a shell in the lab image, in lab 3's folder, same sandbox
    invoke clean        remove containers the kit left behind (--images: images too)

Exit codes: 0 ok, 1 a lab's checks failed, 2 usage or input error, 3 environment error.
"""

from __future__ import annotations

from pathlib import Path

from invoke import Collection, Exit, task

from forklab import commands
from forklab.console import Terminal
from forklab.settings import DEFAULTS, Settings

ROOT = Path(__file__).resolve().parent


def _run(c, action) -> None:
    settings = Settings.from_config(c.config.get("forklab", {}), ROOT)
    code, message = commands.guarded(lambda: action(settings, Terminal()))
    if code:
        raise Exit(message or None, code=code)


@task(help={"number": "lab number, e.g. 3 or 03"})
def lab(c, number):
    """Run lab NUMBER in a fresh sandboxed container and write its report."""
    _run(c, lambda s, t: commands.run_lab(s, number, t))


def _numbers(only: str) -> list:
    return [part for part in only.replace(",", " ").split() if part]


@task(help={"only": "some labs only, e.g. 1,3,6", "jobs": "how many containers at once"})
def labs(c, only="", jobs=2):
    """Run every lab (or --only some), several at a time, and write their reports."""
    _run(c, lambda s, t: commands.run_labs(s, _numbers(only), jobs, t))


@task(help={"jobs": "how many containers at once"})
def report(c, jobs=2):
    """Run every lab again and rewrite all reports and reports/index.md, index.html."""
    _run(c, lambda s, t: commands.regenerate(s, jobs, t))


@task(help={"only": "some labs only, e.g. 3", "jobs": "how many containers at once"})
def verify(c, only="", jobs=2):
    """Run the labs again; show a diff and exit 1 where a normalized report drifted."""
    _run(c, lambda s, t: commands.verify(s, _numbers(only), jobs, t))


@task(name="list")
def list_(c):
    """List the labs with their tutorial verdicts and last report status."""
    _run(c, commands.list_labs)


@task
def build(c):
    """Build the lab image (skipped when nothing that goes into it changed)."""
    _run(c, commands.build)


@task(help={"force": "make it again even if it exists"})
def base(c, force=False):
    """Make the offline base image from a Debian mirror (no container registry needed)."""
    _run(c, lambda s, t: commands.base(s, t, force))


@task(help={"number": "lab number, e.g. 3"})
def shell(c, number):
    """Open a shell in the lab image, in lab NUMBER's folder, under the same sandbox."""
    _run(c, lambda s, t: commands.shell(s, number, t))


@task(help={"images": "also remove the kit's images"})
def clean(c, images=False):
    """Remove every container the kit left behind (and its images with --images)."""
    _run(c, lambda s, t: commands.clean(s, t, images))


ns = Collection(lab, labs, report, verify, list_, build, base, shell, clean)
ns.configure({"forklab": dict(DEFAULTS)})
