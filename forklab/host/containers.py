"""What every container of the kit shares: its labels and name, the sessions
that were interrupted, and the engine's failures said in one line."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for its types: the head start imports this without pydantic
    from forklab import catalog

#: Every container and image the kit makes carries this label; `invoke clean` sweeps by it.
LABEL = "org.forklab.managed"
RUN_LABEL = "org.forklab.run"
LAB_LABEL = "org.forklab.lab"
VARIANT_LABEL = "org.forklab.variant"
SESSION_LABEL = "org.forklab.session"
INPUTS_LABEL = "org.forklab.inputs"

#: Sessions (one `invoke` call each) that were interrupted: their threads make no more containers.
CANCELLED: set = set()


@dataclass(frozen=True)
class Leftover:
    id: str
    name: str
    labels: dict
    state: str = ""


def container_identity(lab: catalog.Lab, run: catalog.Run, session: str,
                       shared: tuple[catalog.Run, ...] = ()) -> tuple[str, dict]:
    """A new container's name and labels: `invoke clean` and an interrupted call find it by them.

    ``shared``: the runs that share the container, one after another (its label names them all).
    """
    run_id = uuid.uuid4().hex[:12]
    runs = shared or (run,)
    labels = {LABEL: "true", RUN_LABEL: run_id, LAB_LABEL: lab.report_name,
              VARIANT_LABEL: ",".join(each.name for each in runs), SESSION_LABEL: session}
    what = run.name if len(runs) == 1 else f"{len(runs)}-variants"
    return f"forklab-{lab.container_name}-{what}-{run_id}", labels


#: Engine failures whose text does not say what to do, and what to do.
KNOWN_FAILURES = (
    # Rootful Podman asks for 1048576 open files and processes unless told otherwise;
    # a host that withholds CAP_SYS_RESOURCE (Podman inside a container) refuses that.
    ("error setting rlimit", "the engine asks for more open files or processes than this host lets it "
                             "grant; for Podman, set default_ulimits = [\"nofile=N:N\", \"nproc=M:M\"] "
                             "in containers.conf (N at most `ulimit -Hn`, M at most `ulimit -Hu` and "
                             "kernel.pid_max) and restart it"),
)


def _short_reason(exc: Exception) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    if not text:
        return type(exc).__name__
    line = str(text).strip().splitlines()[0][:300]
    hints = [hint for marker, hint in KNOWN_FAILURES if marker in str(text)]
    return f"{line} ({hints[0]})" if hints else line
