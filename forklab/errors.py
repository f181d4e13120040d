"""The errors a person sees, each with the exit code docs/ARCHITECTURE.md pins.

Every message is one line: what happened, then what to do next.
"""

from __future__ import annotations

#: Exit codes of every task.
OK, CHECKS_FAILED, USAGE, ENVIRONMENT = 0, 1, 2, 3
INTERRUPTED, TERMINATED = 130, 143


class ForklabError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code = CHECKS_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(ForklabError):
    """Unknown lab, bad lab.yaml, bad path, bad option."""

    exit_code = USAGE


class EnvironmentProblem(ForklabError):
    """No engine, image build failed, base image unavailable."""

    exit_code = ENVIRONMENT
