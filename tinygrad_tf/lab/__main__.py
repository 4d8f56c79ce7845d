"""``python -m tinygrad_tf.lab lab | runs list | runs compare A B | show NAME``."""

import sys

from .commands import main

sys.exit(main())
