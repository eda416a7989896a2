"""``python -m benchhub_sim``: the ``benchhub-sim`` command."""

import sys

from benchhub_sim.cli import main

sys.exit(main())
