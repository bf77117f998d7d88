"""``python -m pytest_anchor_mfa.cli``: the ``anchor-mfa`` command."""

import sys

from .main import main

sys.exit(main())
