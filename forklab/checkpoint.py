"""``from forklab.checkpoint import checkpoint``: the one call a lab makes.

The code is forklab/inside/checkpoint.py, with the rest of what runs inside
the container; this name stays for labs, students' programs and
``python3 -m forklab.checkpoint lab.py`` (the runner steps aside).
Imported, this module *is* forklab.inside.checkpoint.
"""

import sys

from forklab.inside import checkpoint as _checkpoint

if __name__ == "__main__":
    _checkpoint.main(sys.argv[1:])
else:
    sys.modules[__name__] = _checkpoint
