"""`python -m api.cli` (how `vouch run` starts its children)."""

import sys

from api.cli import main

sys.exit(main())
