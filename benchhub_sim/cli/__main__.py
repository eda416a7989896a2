"""``python -m benchhub_sim.cli``: the ``benchhub-sim`` command."""

import sys

from benchhub_sim.cli import main

sys.exit(main())
