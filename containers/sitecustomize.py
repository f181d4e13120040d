# Loaded by every Python process in the lab image (PYTHONPATH=/opt/forklab).
# Under the runner it reports each fork, so the report can say who forked whom
# even for processes that never call checkpoint().  When the runner steps aside
# (FORKLAB_MAIN, set by `python3 -m forklab.checkpoint`), it reports them to the
# host instead.  Outside the kit it does nothing.
import os

if os.environ.get("FORKLAB_SOCKET") or os.environ.get("FORKLAB_MAIN"):
    from forklab.inside.checkpoint import install_fork_reporting

    install_fork_reporting()
