"""``python -m tinygrad_tf.exercises list | show NAME | start NAME | check NAME FILE``."""

import sys

from .commands import main

sys.exit(main())
