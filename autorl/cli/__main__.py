"""``python -m autorl.cli``."""

import sys

from autorl.cli import main

sys.exit(main())
