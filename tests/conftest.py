"""Shared test settings: hypothesis profiles and the device under test.

    python -m pytest                                  # CPU, the "ci" hypothesis profile (fast)
    python -m pytest --hypothesis-profile=thorough    # many more examples
    python -m pytest --device cuda                    # the whole suite on the GPU (needs CuPy + a GPU)
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


@pytest.fixture(scope="session")
def device(request):
    """The device under test; with --device cuda, skips (with the reason) where CuPy or a GPU is missing."""
    dev = request.config.getoption("--device")
    if dev == "cuda":
        from tinygrad_tf.backend import DeviceError, check_device
        try:
            check_device("cuda")
        except DeviceError as e:
            pytest.skip(f"--device cuda asked for, but: {e}")
    return dev
