# Loaded by every Python process in the lab image (PYTHONPATH=/opt/forklab).
# Under the runner it reports each fork, so the report can say who forked whom
# even for processes that never call checkpoint().  Outside the runner it does nothing.
import os

if os.environ.get("FORKLAB_SOCKET"):
    from forklab.checkpoint import install_fork_reporting

    install_fork_reporting()
