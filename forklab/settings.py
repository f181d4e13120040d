"""The kit's own knobs, with their defaults.  Invoke's config feeds them
(``invoke.yaml`` next to tasks.py, or ``INVOKE_FORKLAB_BASE_IMAGE=...``); the
language also comes from ``--lang`` and ``FORKLAB_LANG``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

#: The architectures the offline base can be made for, as Docker and Debian name them.
ARCHITECTURES = ("amd64", "arm64")

#: The official image the lab image builds on by default, pinned.
DEFAULT_BASE_IMAGE = "python:3.11.13-slim-bookworm"

#: A lab's folder: its two-digit number and a slug (labs/03-zombies-and-orphans).
LAB_FOLDER = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$")

DEFAULTS = {
    "labs_dir": "labs",
    "reports_dir": "reports",
    "base_image": DEFAULT_BASE_IMAGE,
    "mirror": "",  # a Debian mirror for `invoke base`; empty means mmdebstrap's default
    "lang": "",  # en or zh: the terminal and the reports; empty means FORKLAB_LANG, else en
}


def cache_dir(what: str) -> Path:
    """The kit's cache folder for ``what`` (labs, templates, plans): under $XDG_CACHE_HOME, else
    %LOCALAPPDATA% on Windows, else ~/.cache.  Deleting it only costs time."""
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA") or str(Path.home() / ".cache")
    return Path(base) / "forklab" / what


def debian_arch(machine: Optional[str]) -> str:
    """amd64 or arm64 from a machine or engine's name for it (x86_64, aarch64, amd64, ...)."""
    name = (machine or "").lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(name, name or "amd64")


@dataclass(frozen=True)
class Settings:
    labs_dir: Path
    reports_dir: Path
    base_image: str
    mirror: Optional[str]
    #: en or zh: the language of the terminal and of the reports written (forklab/i18n.py).
    lang: str = "en"

    @classmethod
    def from_config(cls, config: Mapping, root: Path, lang: str = "") -> "Settings":
        """Relative paths are taken from ``root`` (the folder of tasks.py), not the shell's cwd.

        The language is ``lang`` (--lang), else FORKLAB_LANG, else the config's
        ``lang``, else English; a language forklab does not speak is a UsageError.
        """
        from forklab import i18n

        values = {**DEFAULTS, **dict(config or {})}
        return cls(labs_dir=root / values["labs_dir"], reports_dir=root / values["reports_dir"],
                   base_image=str(values["base_image"]), mirror=values["mirror"] or None,
                   lang=i18n.choose(lang, os.environ, values.get("lang")))
