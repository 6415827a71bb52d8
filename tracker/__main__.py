"""`python -m tracker`: the tracker alone; a setting it cannot start with is one line."""

import sys

from tracker.server import serve
from tracker.settings import SettingError

try:
    serve()
except SettingError as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)
