"""Shared test settings: hypothesis profiles and the device under test.

    python -m pytest                                  # CPU, the "ci" hypothesis profile (fast)
    python -m pytest --hypothesis-profile=thorough    # many more examples
    python -m pytest --device cuda                    # the whole suite on the GPU (needs CuPy + a GPU)
    python -m pytest --device cuda --cupy-standin     # the same on a host-memory stand-in for CuPy
                                                      # (checks the device plumbing; not a GPU run)
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--device", default=os.environ.get("TG_TEST_DEVICE", "cpu"), choices=["cpu", "cuda"],
                     help="device the engine tests run on (default cpu)")
    parser.addoption("--cupy-standin", action="store_true",
                     help="make 'import cupy' give tests/cupy_standin.py (CuPy's rules, host memory): "
                          "the cuda code paths run without a GPU -- a plumbing check, not a GPU run")


def pytest_configure(config):
    if config.getoption("--cupy-standin"):
        import cupy_standin
        cupy_standin.install()



# In CI (.ci/run exports TINYGRAD_TF_CI=1) everything a test needs is installed -- Graphviz, Chromium, Open MPI,
# the extras -- so a skip there means the install broke: it fails instead. Only a GPU cannot be had in CI.
CI_MAY_SKIP = ("needs CuPy and a GPU", "--device cuda asked for", "vm.overcommit_memory=1")


def _no_skip_in_ci(report):
    if os.environ.get("TINYGRAD_TF_CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        if not any(ok in reason for ok in CI_MAY_SKIP):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where everything it needs is installed: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):          # a test's skip (skipif, pytest.skip, importorskip inside)
    _no_skip_in_ci((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):          # a whole module's skip (importorskip at the top)
    _no_skip_in_ci((yield).get_result())

# The Hub stays off in every test: a doc, a notebook or a REPL paste that loads a pretrained model (lesson 11,
# docs/pretrained.md, README) reads the fixture cache of tiny models made by scripts/make_pretrained_fixtures.py.
# Set in the environment itself, so that subprocesses (a notebook's kernel, the CLI) see it too.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_CACHE", os.path.join(os.path.dirname(__file__), "fixtures", "pretrained", "hub"))


@pytest.fixture(scope="session")
def device(request):
    """The device under test. --device cuda where CuPy or a GPU is missing fails every test that asks for it,
    with the reason: a run that asked for the GPU must not come back green having tested nothing there."""
    dev = request.config.getoption("--device")
    if dev == "cuda":
        from tinygrad_tf.backend import DeviceError, check_device
        try:
            check_device("cuda")
        except DeviceError as e:
            pytest.fail(f"--device cuda asked for, but: {e}", pytrace=False)
    return dev


@pytest.fixture(params=["cupy", "standin"])
def cuda(request):
    """Runs a test twice: on real CuPy with a GPU (skipped, with the reason, where there is none) and on
    tests/cupy_standin.py, host memory under CuPy's rules (the device plumbing, checked everywhere)."""
    import cupy_standin
    import tinygrad_tf as tg
    if request.param == "cupy":
        if cupy_standin.active():
            pytest.skip("--cupy-standin replaces CuPy: this half needs the real one")
        if not tg.cuda_available():
            if request.config.getoption("--device") == "cuda":     # a GPU run must not pass having tested nothing
                pytest.fail("--device cuda asked for, but CuPy or a GPU is missing", pytrace=False)
            pytest.skip("needs CuPy and a GPU: pip install -e '.[cuda]' on a machine with an NVIDIA GPU")
        yield "cupy"
    elif cupy_standin.active():
        yield "standin"
    else:
        with cupy_standin.installed():
            yield "standin"
