"""The classic transformer experiments, run for real on tiny character-level GPTs (docs/experiments.md).

    python -m experiments.run_all                      # everything, with the documented settings
    python -m experiments.residual_layouts --smoke     # one experiment, a few steps (what the tests run)

Each script prints a rich table and writes <name>.json and SVG plots under --out (default
docs/img/experiments). ``common.py`` holds the one training / evaluation function they all use.

BLAS threads: these models are tiny (matrices of 32-96 columns), where OpenBLAS's threads cost far more
than they save (measured: 10x slower per step with 2 threads on a busy 2-core machine). So, unless the
environment already says otherwise, importing this package before NumPy asks for one thread.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
