"""backend.keep_freed_memory: on Linux with glibc, importing tinygrad_tf makes freed arrays stay in the process
for the next step (no fresh, kernel-zeroed pages every step); a user's MALLOC_*_ setting or
TINYGRAD_TF_MALLOC=system leaves malloc alone."""

import os
import platform
import subprocess
import sys

import pytest

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

PROBE = """
import numpy as np, tinygrad_tf.backend as b
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024
a = np.ones(16 << 18, np.float32)          # 16 MiB, every page touched
before = rss()
del a                                       # freed: kept (heap) or given back (mmap, the default)
print(b.MALLOC_TUNED, before - rss())
"""


def probe(**env):
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("MALLOC_") and k not in ("TINYGRAD_TF_MALLOC", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1])


def test_freed_arrays_stay_in_the_process():
    tuned, given_back = probe()
    if not GLIBC:                                    # glibc's malloc only (Linux): elsewhere nothing changes
        assert not tuned
        return
    assert tuned and given_back < 4                  # MiB: the 16 MiB block stays for reuse


@pytest.mark.parametrize("env", [{"TINYGRAD_TF_MALLOC": "system"}, {"MALLOC_MMAP_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}])
def test_the_user_can_keep_mallocs_defaults(env):
    tuned, given_back = probe(**env)
    assert not tuned and (given_back >= 15 or not GLIBC)            # the default: a 16 MiB block goes back to the kernel


def test_elsewhere_nothing_is_changed(monkeypatch):
    from tinygrad_tf import backend
    monkeypatch.setattr(backend.sys, "platform", "darwin")
    assert backend.keep_freed_memory() is False
