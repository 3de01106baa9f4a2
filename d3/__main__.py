"""``python -m d3``: Ctrl-C or SIGTERM while the heavy modules import is a clean exit 3 too
(the CLI's own handlers are installed only once ``d3.cli`` has been imported)."""

import signal
import sys


def _interrupted(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _interrupted)
try:
    from d3.cli import main
except KeyboardInterrupt:
    sys.stderr.write("interrupted\n")
    sys.exit(3)

main()
