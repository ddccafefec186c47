import os

# Spin-waiting OpenMP threads starve a loaded 2-core machine; must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import atexit  # noqa: E402
import importlib  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

# Keep tests on the small CPU budget of CI and away from the user's caches and weights. The variables
# are set at import time (not only per test) so that module- and session-scoped fixtures see them too.
# Test networks are tiny: extra threads only add synchronisation cost (badly so on a loaded machine).
torch.set_num_threads(1)
_ROOT = tempfile.mkdtemp(prefix="ganeval-tests-")
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
_ENV = {
    "GANEVAL_CACHE": os.path.join(_ROOT, "cache"),
    "TORCH_HOME": os.path.join(_ROOT, "torch_home"),
    "GANEVAL_WEIGHTS": os.path.join(_ROOT, "weights"),
}
os.environ.update(_ENV)
os.makedirs(_ENV["GANEVAL_WEIGHTS"], exist_ok=True)


@pytest.fixture(autouse=True)
def _isolated_caches(monkeypatch):
    for k, v in _ENV.items():
        monkeypatch.setenv(k, v)
    yield


@pytest.fixture
def test_fd():
    """A cheap 12-d feature net registered as 'test-fd' (rows named fd_test...)."""
    from _metrics_helpers import TinyFeatures

    fidmod = importlib.import_module("ganeval.metrics.fid")   # `ganeval.metrics.fid` is also the function
    fidmod.register_feature_net("test-fd", lambda device: TinyFeatures().to(device), short="test")
    yield "test-fd"
    fidmod.FEATURE_NETS.pop("test-fd")
    fidmod.SHORT_NAMES.pop("test-fd")
