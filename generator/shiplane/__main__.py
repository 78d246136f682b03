"""`python -m shiplane …` is `shiplane …`."""

import sys

from shiplane.cli import main

sys.exit(main())
