"""The sandbox every lab container runs in (docs/ARCHITECTURE.md, decision 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for its types: the head start imports this without pydantic
    from forklab import catalog


def sandbox(run: catalog.RunSettings) -> dict:
    """Docker SDK keyword arguments for a lab container (docs/ARCHITECTURE.md, decision 5)."""
    return sandbox_for(run.pids_limit, run.memory_mb)


def sandbox_for(pids_limit: int, memory_mb: int) -> dict:
    """The sandbox of a lab container whose run allows ``pids_limit`` processes and ``memory_mb`` MiB:
    everything else about it is the same for every lab."""
    memory = f"{memory_mb}m"
    return {
        "network_mode": "none",
        "pids_limit": pids_limit,
        "mem_limit": memory,
        "memswap_limit": memory,  # equal to mem_limit: no swap to hide in
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "user": "1000:1000",
        "read_only": True,
        # The only writable places: /tmp for the lab's files, and a small /dev/shm
        # for POSIX semaphores (multiprocessing's locks), not the engine's 64 MiB.
        "tmpfs": {"/tmp": "rw,nosuid,nodev,noexec,size=64m,mode=1777",
                  "/dev/shm": "rw,nosuid,nodev,noexec,size=4m,mode=1777"},
        # The runner is PID 1: it is the reaper the labs observe.
        "init": False,
        "hostname": "forklab",
    }


def docker_run_flags(run: catalog.RunSettings) -> list[str]:
    """The same sandbox as ``docker run`` flags (for ``invoke shell``)."""
    box = sandbox(run)
    flags = ["--network", box["network_mode"], "--pids-limit", str(box["pids_limit"]),
             "--memory", box["mem_limit"], "--memory-swap", box["memswap_limit"],
             "--user", box["user"], "--hostname", box["hostname"]]
    flags += [arg for cap in box["cap_drop"] for arg in ("--cap-drop", cap)]
    flags += [arg for opt in box["security_opt"] for arg in ("--security-opt", opt)]
    flags += [arg for path, opts in box["tmpfs"].items() for arg in ("--tmpfs", f"{path}:{opts}")]
    if box["read_only"]:
        flags.append("--read-only")
    return flags
