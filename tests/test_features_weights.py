"""The external-weights registry (ganeval.features.weights) and `ganeval weights ...`."""

import hashlib
import http.server
import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganeval.cli import main
from ganeval.data.attributes import NVIDIA_ATTRS
from ganeval.errors import GanevalError, WeightsNotFoundError
from ganeval.features import weights as W


@pytest.fixture
def server(tmp_path):
    """A static file server on 127.0.0.1 (and nowhere else), serving tmp_path/'srv'."""
    root = tmp_path / "srv"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def entry():
    data = b"ganeval test weights\n" * 100
    e = W.register_weights(W.WeightFile("test-file", "test-file-1234.pth", "http://127.0.0.1:9/unused",
                                        used_by="tests", sha256=hashlib.sha256(data).hexdigest()))
    yield e, data
    W.REGISTRY.pop("test-file")


def test_registry_knows_every_external_file():
    assert W.get_entry("inception-v3-compat").filename == "weights-inception-2015-12-05-6726825d.pth"
    assert W.get_entry("vgg16").filename == "vgg16-397923af.pth"
    assert W.get_entry("vgg16-397923af.pth").name == "vgg16"  # file names work too
    classifiers = W.resolve_names(["celebahq-classifiers"])
    assert classifiers == [f"celebahq-classifier-{i:02d}-{a}" for i, a in enumerate(NVIDIA_ATTRS)]
    assert all(W.REGISTRY[n].url.startswith("https://") for n in classifiers)
    with pytest.raises(WeightsNotFoundError):
        W.get_entry("alexnet")


def test_search_order(tmp_path, monkeypatch):
    a, torch_home = tmp_path / "a", tmp_path / "th"
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(a))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    assert W.search_dirs()[:2] == [a, torch_home / "hub" / "checkpoints"]
    hub = torch_home / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "vgg16-397923af.pth").write_bytes(b"x")
    assert W.locate("vgg16") == hub / "vgg16-397923af.pth"
    a.mkdir()
    (a / "vgg16-397923af.pth").write_bytes(b"y")
    assert W.locate("vgg16") == a / "vgg16-397923af.pth"  # $GANEVAL_WEIGHTS first


def test_missing_file_is_one_line_naming_it_and_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path / "w"))
    with pytest.raises(WeightsNotFoundError) as e:
        W.locate("inception-v3-compat")
    msg = str(e.value)
    assert "\n" not in msg and "weights-inception-2015-12-05-6726825d.pth" in msg
    assert str(tmp_path / "w") in msg and "ganeval weights fetch inception-v3-compat" in msg


def test_fetch_from_local_server(server, entry, tmp_path):
    root, base = server
    e, data = entry
    (root / "f.pth").write_bytes(data)
    dest = tmp_path / "dest"
    p = W.fetch("test-file", dest_dir=dest, url=f"{base}/f.pth")
    assert p == dest / "test-file-1234.pth" and p.read_bytes() == data
    assert W.verify("test-file", p)["status"] == "ok"
    # Wrong content: refused, nothing left behind.
    (root / "bad.pth").write_bytes(b"tampered")
    with pytest.raises(W.WeightsHashError, match="sha256"):
        W.fetch("test-file", dest_dir=tmp_path / "d2", url=f"{base}/bad.pth")
    assert not (tmp_path / "d2" / "test-file-1234.pth").exists()
    assert list((tmp_path / "d2").iterdir()) == []
    # The torch.hub prefix in vgg16's name is checked too.
    with pytest.raises(W.WeightsHashError):
        W.fetch("vgg16", dest_dir=tmp_path / "d3", url=f"{base}/bad.pth")
    # An unreachable or missing URL is one GanevalError line.
    with pytest.raises(GanevalError, match="cannot download"):
        W.fetch("test-file", dest_dir=tmp_path / "d4", url=f"{base}/missing.pth")


def test_cli_weights(server, entry, tmp_path, monkeypatch):
    root, base = server
    _, data = entry
    (root / "f.pth").write_bytes(data)
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path / "w"))
    runner = CliRunner()
    r = runner.invoke(main, ["weights", "path", "vgg16"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.output.strip().count("\n") == 0 and "vgg16-397923af.pth" in r.output
    r = runner.invoke(main, ["weights", "fetch", "test-file", "--url", f"{base}/f.pth", "--quiet"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "w" / "test-file-1234.pth").read_bytes() == data
    r = runner.invoke(main, ["weights", "path", "test-file"])
    assert r.exit_code == 0 and r.output.strip() == str(tmp_path / "w" / "test-file-1234.pth")
    r = runner.invoke(main, ["weights", "verify", "test-file"])
    assert r.exit_code == 0 and r.output.startswith("ok")
    (tmp_path / "w" / "test-file-1234.pth").write_bytes(b"changed")
    r = runner.invoke(main, ["weights", "verify"])
    assert r.exit_code == 2 and "mismatch" in r.output
    r = runner.invoke(main, ["weights", "list"])
    assert r.exit_code == 0 and "celebahq-classifier-39-wearing-necktie" in r.output
    r = runner.invoke(main, ["weights", "verify", "vgg16"])
    assert r.exit_code == 2 and "missing" in r.output


def test_a_registered_file_whose_sha256_differs_is_refused_unless_allowed(tmp_path, monkeypatch):
    """vgg16-397923af.pth must hash to 397923af...: another file under that name is refused when it is used,
    the verdict cached by size and mtime, and GANEVAL_ALLOW_UNVERIFIED_WEIGHTS=1 lets it through."""
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.delenv(W.ALLOW_UNVERIFIED)
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "vgg16-397923af.pth").write_bytes(b"not the torchvision file")
    with pytest.raises(W.WeightsHashError) as e:
        W.locate("vgg16")
    assert "\n" not in str(e.value) and "ganeval weights fetch vgg16" in str(e.value)
    cached = json.loads((Path(os.environ["GANEVAL_CACHE"]) / "weights-sha256.json").read_text())
    mine = [h for k, h in cached.items() if k.startswith(str((tmp_path / "w" / "vgg16-397923af.pth").resolve()))]
    assert mine == [hashlib.sha256(b"not the torchvision file").hexdigest()]
    monkeypatch.setenv(W.ALLOW_UNVERIFIED, "1")
    assert W.locate("vgg16") == tmp_path / "w" / "vgg16-397923af.pth"
    # A file without a registry hash (torch-fidelity's Inception) is used as it is: nothing to compare with.
    monkeypatch.delenv(W.ALLOW_UNVERIFIED)
    (tmp_path / "w" / "weights-inception-2015-12-05-6726825d.pth").write_bytes(b"x")
    assert W.locate("inception-v3-compat").name == "weights-inception-2015-12-05-6726825d.pth"


def _load_inception():
    from ganeval.features.inception import load_inception

    return load_inception("cpu")


def _load_lpips():
    from ganeval.features.lpips import load_lpips_vgg16

    return load_lpips_vgg16("cpu")


# (network, its file name, a key the loader expects, what a good copy is fetched as)
NETWORKS = {"inception": (_load_inception, "weights-inception-2015-12-05-6726825d.pth", "fc.weight", None),
            "lpips-vgg16": (_load_lpips, "vgg16-397923af.pth", "features.0.weight", "vgg16")}


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("content", [b"", b"PK\x03\x04truncated", bytes(range(256)) * 4, "code", "other-net"])
def test_unreadable_weights_are_one_line(network, content, tmp_path, monkeypatch):
    """Empty, truncated, random, code-carrying or another network's file: one line naming the file, nothing run."""
    import torch

    load, name, key, fetch = NETWORKS[network]
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    monkeypatch.setenv(W.ALLOW_UNVERIFIED, "1")    # the sha256 check would refuse first; here the reading is tested
    path = tmp_path / name
    if content == "code":
        torch.save({key: torch.zeros(1), "hook": Path}, path)   # a class in the pickle: weights_only refuses
    elif content == "other-net":
        torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(W.WeightsFileError) as e:
        load()
    assert "\n" not in str(e.value) and str(path) in str(e.value)
    assert fetch is None or f"weights fetch {fetch}" in str(e.value)
