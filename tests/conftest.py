"""Shared fixtures: isolated caches, tiny generators / discriminators, toy data, tiny classifiers and feature
nets, tiny training options and a tiny trained GAN-Control run.

Builders are factory fixtures (session-scoped: they hold no state), so that a test can build several models with
different settings: `G = tiny_G("stylegan", res=8, depth=0)`. Each builder reseeds torch's global RNG before it
builds (unless told seed=None), so a test gets the same weights whatever ran before it.

This is the only conftest.py of the suite: spawned worker processes (test_metrics_dist.py) receive classes
defined here pickled by reference, as `conftest.<name>`, and a second conftest.py would take over that module name
in sys.modules. A worker that unpickles them imports this file (from the sys.path it inherits), which then gives
that process caches of its own too.
"""

import os

# Spin-waiting OpenMP threads starve a loaded 2-core machine; must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

# The fake foreign checkpoints (NVlabs / TF pickles, rosinality dicts) are a plugin: fixture `ckpt_fakes`.
pytest_plugins = ["_ckpt_fakes"]

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
    # Tests make stand-in weight files (random VGG16, Inception) under the registered names: their sha256 is not
    # the real files'. test_features_weights.py checks the refusal with this unset.
    "GANEVAL_ALLOW_UNVERIFIED_WEIGHTS": "1",
}
os.environ.update(_ENV)
os.makedirs(_ENV["GANEVAL_WEIGHTS"], exist_ok=True)


@pytest.fixture(autouse=True)
def _isolated_caches(monkeypatch):
    for k, v in _ENV.items():
        monkeypatch.setenv(k, v)
    yield


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a whole module (`pytestmark = pytest.mark.usefixtures("one_thread")`): tiny models
    run fastest so, and a loaded shared CPU makes multi-threaded OpenMP barriers spin. Some library code changes
    the thread count (ganeval/report/compare.py)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ----------------------------------------------------------------------------------------------------
# Toy data, classifiers and feature nets for the metrics (CPU, milliseconds).

class ToyDataset:
    """uint8 images in memory with the dataset contract (identity, resolution, name, len, [i] -> (img, label))."""

    def __init__(self, n=24, res=16, seed=1, name="toy"):
        g = torch.Generator().manual_seed(seed)
        base = torch.rand(n, 3, 1, 1, generator=g) * 200
        self.x = (base + torch.rand(n, 3, res, res, generator=g) * 55).to(torch.uint8)
        self.name, self.resolution, self.identity = name, res, f"toy:{n}:{res}:{seed}"
        self.reads = 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.reads += 1
        return self.x[i], torch.zeros(0)


class TinyFeatures(nn.Module):
    """uint8 NCHW -> 12 features (random fixed conv + global pooling): a cheap stand-in for Inception."""

    name = "test-fd"

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 12, 3, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=g) * 0.3)

    def forward(self, img):
        x = img.float() / 127.5 - 1
        return torch.tanh(self.conv(x)).mean(dim=(2, 3)) + torch.relu(self.conv(x)).amax(dim=(2, 3))


class TinyClassifiers(nn.Module):
    """Float [-1, 1] images at `resolution` -> logits for 3 attributes (linear in pooled colour)."""

    attr_names = ["male", "smiling", "young"]
    name = "tiny-classifiers"

    def __init__(self, resolution=8):
        super().__init__()
        self.resolution = resolution
        g = torch.Generator().manual_seed(3)
        self.lin = nn.Linear(3 * 4, 3)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(3, 12, generator=g) * 5)
            self.lin.bias.zero_()

    def forward(self, img):
        assert img.shape[-1] == self.resolution
        x = nn.functional.adaptive_avg_pool2d(img, 2).flatten(1)
        return self.lin(x)


@pytest.fixture(scope="session")
def toy_dataset():
    """Factory (the class): toy_dataset(n=24, res=16, seed=1, name="toy") -> a ToyDataset, the metrics' reals."""
    return ToyDataset


@pytest.fixture(scope="session")
def tiny_features():
    """Factory (the class): tiny_features() -> a TinyFeatures net (uint8 images -> 12 features)."""
    return TinyFeatures


@pytest.fixture(scope="session")
def tiny_classifiers():
    """Factory (the class): tiny_classifiers(resolution=8) -> TinyClassifiers (3 attributes: male, smiling,
    young)."""
    return TinyClassifiers


@pytest.fixture
def test_fd():
    """A cheap 12-d feature net registered as 'test-fd' (rows named fd_test...)."""
    from ganeval.features import registry

    registry.register_feature_net("test-fd", lambda device: TinyFeatures().to(device), short="test")
    yield "test-fd"
    registry.unregister("test-fd")


# ----------------------------------------------------------------------------------------------------
# Tiny generators and discriminators.

def _sizes(arch: str, width: int, depth: int) -> dict:
    """Model sizes of width w: z_dim = w_dim = channel_max = w and channel_base = 8w (w channels up to 8 px, w/2
    at 16 px); a mapping network of `depth` layers (PGGAN has none)."""
    cfg = dict(channel_base=8 * width, channel_max=width, z_dim=width)
    if arch != "pggan":
        cfg.update(w_dim=width, mapping_depth=depth)
    return cfg


@pytest.fixture(scope="session")
def tiny_G():
    """Factory: tiny_G(arch="stylegan2", res=16, depth=2, seed=0, *, width=32, noise=None, random_w_avg=False,
    **overrides) -> ganeval.build_generator(arch, res, ...), built right after torch.manual_seed(seed) (seed=None:
    the global RNG as it is) and left in training mode.

    arch: pggan, stylegan, stylegan2 or stylegan2-control (controlling smiling and eyeglasses with sub-vectors
    [w/4, w/4, w/2]; z_dim is their sum). width and depth: see _sizes. overrides: further constructor keywords, or
    replacements for those above. noise: every noise strength set to this value (they start at 0, so noise would
    not matter); random_w_avg: w_avg drawn from N(0, 1), so that truncation moves ws.
    """
    import ganeval

    def make(arch="stylegan2", res=16, depth=2, seed=0, *, width=32, noise=None, random_w_avg=False, **overrides):
        cfg = _sizes(arch, width, depth)
        if arch == "stylegan2-control":
            del cfg["z_dim"]
            cfg.update(control_attrs=["smiling", "eyeglasses"], control_dims=[width // 4, width // 4, width // 2])
        cfg.update(overrides)
        if seed is not None:
            torch.manual_seed(seed)
        G = ganeval.build_generator(arch, res, **cfg)
        with torch.no_grad():
            if noise is not None:
                for name, p in G.named_parameters():
                    if name.endswith("noise_strength"):
                        p.fill_(noise)
            if random_w_avg:
                G.mapping.w_avg.normal_()
        return G
    return make


@pytest.fixture(scope="session")
def tiny_D():
    """Factory: tiny_D(arch="stylegan2", res=16, seed=0, *, width=32, **overrides) ->
    ganeval.build_discriminator(arch, res, channel_base=8 * width, channel_max=width, **overrides), built right
    after torch.manual_seed(seed) (seed=None: the global RNG as it is, e.g. for a D built right after its G)."""
    import ganeval

    def make(arch="stylegan2", res=16, seed=0, *, width=32, **overrides):
        if seed is not None:
            torch.manual_seed(seed)
        return ganeval.build_discriminator(arch, res, **{**dict(channel_base=8 * width, channel_max=width),
                                                         **overrides})
    return make


@pytest.fixture(scope="session")
def perturbed():
    """perturbed(module, seed) -> module (eval mode) with noise of std 0.2 added to its noise strengths and
    biases, which StyleGAN initialises to zero: the loaders must carry them, so they must not be zero."""
    def perturb(module, seed):
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in module.named_parameters():
                if "noise_strength" in name or name.endswith("bias"):
                    p.add_(torch.randn(p.shape, generator=g) * 0.2)
        return module.eval()
    return perturb


@pytest.fixture(scope="session")
def metric_G(tiny_G):
    """Factory: the generator of the metric tests, metric_G(arch="stylegan2", res=16, depth=2, seed=0, noise=0.5,
    **overrides) = tiny_G(arch, res, depth, seed, noise=noise, random_w_avg=True, **overrides) in eval mode:
    non-zero noise strengths so that noise handling matters, a random w_avg so that truncation moves ws."""
    def make(arch="stylegan2", res=16, depth=2, seed=0, noise=0.5, **overrides):
        return tiny_G(arch, res, depth, seed, noise=noise, random_w_avg=True, **overrides).eval()
    return make


# ----------------------------------------------------------------------------------------------------
# Training.

@pytest.fixture(scope="session")
def tiny_dataset():
    """Factory: tiny_dataset(n=32, res=16, seed=0) -> an InMemoryDataset named 'tiny' of smooth random colour
    fields (low-frequency, so a tiny GAN has something to learn)."""
    from ganeval.train import InMemoryDataset

    def make(n=32, res=16, seed=0):
        g = torch.Generator().manual_seed(seed)
        x = F.interpolate(torch.rand([n, 3, 4, 4], generator=g), size=(res, res), mode="bilinear",
                          align_corners=False)
        return InMemoryDataset((x * 255).round().to(torch.uint8), name="tiny")
    return make


@pytest.fixture(scope="session")
def tiny_options(tiny_dataset):
    """Factory: tiny_options(out, arch="stylegan2", schedule=None, **kw) -> ganeval.train.resolve_options for a
    width-16 model with a 2-layer mapping (see _sizes) at 16 px on tiny_dataset(), run in this process without
    loader workers and quietly, writing under `out`. schedule: a dict of options that a module's runs share (batch,
    tick_kimg, ...); kw: this run's options, which win over it and over the above. A None value means the default
    (resolve_options drops it), e.g. z_dim=None for a controlled model whose z_dim is the sum of its control dims."""
    from ganeval.train import resolve_options

    def make(out, arch="stylegan2", schedule=None, **kw):
        base = dict(arch=arch, data=tiny_dataset(), resolution=16, out=str(out), workers=0, quiet=True,
                    **_sizes(arch, 16, 2))
        return resolve_options(**{**base, **(schedule or {}), **kw})
    return make


# ----------------------------------------------------------------------------------------------------
# GAN-Control (ganeval/control).

@pytest.fixture(scope="session")
def train_tiny_control(tiny_options):
    """Factory: train_tiny_control(out, control_net, kimg=0.016, **kw) -> the run directory of a tiny controlled
    StyleGAN2 (smiling, eyeglasses; sub-vectors 4, 4, 8; 16 px) trained a few steps on CPU against `control_net`
    (the suite already runs on one thread)."""
    from ganeval.train import train

    def make(out, control_net: str, kimg: float = 0.016, **kw):
        return train(tiny_options(out, z_dim=None, control="Smiling,Eyeglasses", control_dims="4,4,8", batch=4,
                                  tick_kimg=0.008, ema_kimg=0.01, kimg=kimg, snap=kimg, control_net=control_net,
                                  r1_interval=2, pl_interval=2, **kw))
    return make


@pytest.fixture(scope="session")
def trained_control(tmp_path_factory, train_tiny_control):
    """(run directory, classifier file): a tiny controlled StyleGAN2 trained 8 steps on CPU against random
    attribute classifiers, once per session. Tests read it; a resumed run goes to a new run directory."""
    from ganeval.features.attributes import AttributeClassifiers, save_classifiers

    root = tmp_path_factory.mktemp("control")
    torch.manual_seed(0)
    clf_path = root / "clf.pt"
    save_classifiers(AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8), clf_path)
    return train_tiny_control(root, str(clf_path), kimg=0.032), clf_path


@pytest.fixture
def quick_encoders(trained_control, tmp_path):
    """(snapshot, copy of it with 5-step encoders fitted to random targets, classifier path) of trained_control."""
    from ganeval.control.encoders import fit_encoders, load_control, save_with_encoders

    run_dir, clf_path = trained_control
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    G, _ = load_control(snap, need_encoders=False)
    y = torch.rand(32, 2)
    enc = fit_encoders([p.detach() for p in G.mapping.parts(torch.randn(32, 16))], y, G.control_attrs, steps=5)
    return snap, save_with_encoders(snap, tmp_path / "c.pt", enc), clf_path
