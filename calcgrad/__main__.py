"""`python -m calcgrad ...` is the `calcgrad` command."""

import sys

from calcgrad.cli import main

sys.exit(main())
