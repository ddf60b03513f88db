"""``python -m autorl``."""

import sys

from autorl.cli import main

sys.exit(main())
