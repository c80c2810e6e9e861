"""`python -m wavbrivl.cli` (e.g. under torchrun): the same as the `wavbrivl` command."""

import sys

from wavbrivl.cli import main

sys.exit(main())
