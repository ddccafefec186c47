import os

import pytest
import torch

# Keep tests on the small CPU budget of CI and away from the user's caches.
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("GANEVAL_CACHE", str(root / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(root / "torch_home"))
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(root / "weights"))
    os.makedirs(root / "weights", exist_ok=True)
    yield
