"""What the lab image is made of: its build context, the hash of its inputs, and the offline base's recipe."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path
from typing import Optional

from forklab import catalog
from forklab.inside import IMAGE_FILES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parents[1]
CONTAINERS_DIR = PROJECT_ROOT / "containers"

IMAGE_REPOSITORY = "forklab/lab"
OFFLINE_REPOSITORY = "forklab/base"
OFFLINE_SUITE = "bookworm"
#: python3-pip and ca-certificates let docker-compose.yml's image install the
#: report renderer's dependencies (Jinja2, pydantic, PyYAML, rich) from PyPI.
OFFLINE_PACKAGES = ("python3", "python3-pip", "procps", "psmisc", "ca-certificates")
#: The host's trust store, copied into the offline base when present: networks
#: without a registry often inspect TLS, and builds must trust what the host trusts.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: Where the offline base keeps that copy; containers/Dockerfile looks for it there.
BASE_CA_DIR = "/usr/local/share/ca-certificates"

#: The in-container half of the package (standard library only): what the image copies.
RUNNER_FILES = IMAGE_FILES


def build_context_files() -> list[tuple[str, bytes]]:
    """(path in context, bytes) for everything that goes into the lab image, sorted.

    The labs are not among them: each is sent with its container.
    """
    # Paths as in the checkout, so docker-compose.yml builds the same Dockerfile.
    files = [("containers/Dockerfile", (CONTAINERS_DIR / "Dockerfile").read_bytes()),
             ("containers/sitecustomize.py", (CONTAINERS_DIR / "sitecustomize.py").read_bytes())]
    files += [(f"forklab/{name}", (PACKAGE_DIR / name).read_bytes()) for name in RUNNER_FILES]
    # A Windows checkout may hand us CRLF; the Linux image must see LF.
    return [(name, data.replace(b"\r\n", b"\n") if Path(name).suffix in catalog.TEXT_SUFFIXES else data)
            for name, data in sorted(files)]


def inputs_digest(files: list[tuple[str, bytes]], base: str, base_id: str) -> str:
    digest = hashlib.sha256()
    for part in (base.encode(), base_id.encode()):
        digest.update(part + b"\0")
    for name, data in files:
        digest.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def offline_base_tag(arch: str) -> str:
    """The offline base's tag: the suite, the architecture and a hash of the recipe."""
    recipe = f"{OFFLINE_SUITE} minbase {arch} {' '.join(OFFLINE_PACKAGES)} host-ca"
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:8]
    return f"{OFFLINE_REPOSITORY}:{OFFLINE_SUITE}-{arch}-{digest}"


def offline_base_problem() -> Optional[str]:
    """Why the offline base cannot be made on this host, or None if it can."""
    if not sys.platform.startswith("linux"):
        return ("it needs a Linux host with mmdebstrap or debootstrap; pull the base image "
                "on a network that reaches a registry instead")
    if shutil.which("mmdebstrap"):
        return None
    if shutil.which("debootstrap"):
        return None if os.geteuid() == 0 else "debootstrap needs root; install mmdebstrap or run as root"
    return "install mmdebstrap (`sudo apt-get install mmdebstrap`) and try again"


def _bootstrap_command(archive: Path, root: Path, mirror: Optional[str], arch: str) -> list[list[str]]:
    packages = ",".join(OFFLINE_PACKAGES)
    tail = [mirror] if mirror else []
    ca = HOST_CA_BUNDLE.is_file()
    if shutil.which("mmdebstrap"):
        hooks = [f"--customize-hook=copy-in {HOST_CA_BUNDLE} {BASE_CA_DIR}"] if ca else []
        return [["mmdebstrap", "--quiet", "--variant=minbase", f"--architectures={arch}",
                 f"--include={packages}", *hooks, OFFLINE_SUITE, str(archive), *tail]]
    steps = [["debootstrap", "--variant=minbase", f"--arch={arch}", f"--include={packages}",
              OFFLINE_SUITE, str(root), *tail]]
    if ca:
        steps.append(["cp", str(HOST_CA_BUNDLE), f"{root}{BASE_CA_DIR}/"])
    return steps + [["tar", "-C", str(root), "-cf", str(archive), "."]]
