"""Nothing from a checkpoint is imported or run; corrupt files end in one-line CheckpointErrors."""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganeval
from ganeval.checkpoints import detect, load_checkpoint, save_checkpoint
from ganeval.errors import CheckpointError


class WritesMarker:
    """Unpickling this would create the marker file (through os.system, open, or exec)."""

    def __init__(self, marker, how="system"):
        self.marker, self.how = str(marker), how

    def __reduce__(self):
        if self.how == "system":
            return os.system, (f"touch {self.marker}",)
        if self.how == "open":
            return open, (self.marker, "w")
        return exec, (f"open({self.marker!r}, 'w').close()",)


def _check_refused(path, marker, name):
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    msg = str(e.value)
    assert "\n" not in msg and "refused" in msg and name in msg
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pkl", ".pt"])
@pytest.mark.parametrize("how,name", [("system", "system"), ("open", "io.open"), ("exec", "builtins.exec")])
def test_malicious_plain_pickle_is_refused(tmp_path, suffix, how, name):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    with open(path, "wb") as f:
        pickle.dump({"G_ema": WritesMarker(marker, how)}, f)
    _check_refused(path, marker, name)
    with pytest.raises(CheckpointError):
        detect(path)
    assert not marker.exists()


def test_malicious_torch_zip_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"g_ema": {"input.input": torch.zeros(1)}, "args": WritesMarker(marker)}, path)
    _check_refused(path, marker, "system")


def test_malicious_payload_inside_an_nvlabs_network(tmp_path, ckpt_fakes):
    marker = tmp_path / "pwned"
    G = ganeval.build_generator("stylegan2", 8, z_dim=8, w_dim=8, mapping_depth=1, channel_base=64, channel_max=8)
    ckpt_fakes.write_nvlabs_pickle(tmp_path / "evil.pkl",
                                   {"G_ema": G, "training_set_kwargs": ckpt_fakes.EasyDict(x=WritesMarker(marker))})
    _check_refused(tmp_path / "evil.pkl", marker, "system")


def test_malicious_storage_blob_is_refused(tmp_path):
    # Plain pickles carry tensors as torch.storage._load_from_bytes(blob); the blob is itself a pickle.
    marker = tmp_path / "pwned"
    blob = io.BytesIO()
    torch.save(WritesMarker(marker), blob, _use_new_zipfile_serialization=False)

    class EvilStorage:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (blob.getvalue(),)

    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"G": EvilStorage()}, f)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "evil.pkl")
    assert "\n" not in str(e.value) and not marker.exists()


def test_embedded_sources_are_never_run(tmp_path, ckpt_fakes):
    marker = tmp_path / "pwned"
    src = f"open({str(marker)!r}, 'w').close()\n"
    G = ganeval.build_generator("stylegan2", 8, z_dim=8, w_dim=8, mapping_depth=1, channel_base=64, channel_max=8)
    ckpt_fakes.write_nvlabs_pickle(tmp_path / "nv.pkl", {"G_ema": G}, module_src=src)
    gs, _ = ckpt_fakes.stylegan2_tf_pickle_states(G.eval(), module_src=src)
    ckpt_fakes.write_tf_pickle(tmp_path / "tf.pkl", gs)
    assert load_checkpoint(tmp_path / "nv.pkl").format == "nvlabs"
    assert load_checkpoint(tmp_path / "tf.pkl").format == "tf-stylegan2"
    assert not marker.exists()


@pytest.mark.parametrize("payload,name", [
    (np.array([1, "a"], dtype=object), "dtype"),            # object arrays would unpickle arbitrary items
    (pickle.loads, "pickle.loads"),
    (torch.load, "torch.serialization.load"),
    (getattr, "builtins.getattr"),
])
def test_other_globals_are_refused_by_name(tmp_path, payload, name):
    with open(tmp_path / "x.pkl", "wb") as f:
        pickle.dump({"G": payload}, f)
    with pytest.raises(CheckpointError, match=name.replace(".", r"\.")):
        load_checkpoint(tmp_path / "x.pkl")


# ----------------------------------------------------------------------------------------------------
# Corrupt, truncated and random files.

@pytest.fixture(scope="module")
def valid_files(tmp_path_factory, ckpt_fakes):
    d = tmp_path_factory.mktemp("valid")
    G = ganeval.build_generator("stylegan2", 8, z_dim=8, w_dim=8, mapping_depth=1, channel_base=64,
                                channel_max=8).eval()
    files = {}
    ckpt_fakes.write_nvlabs_pickle(d / "nv.pkl", {"G_ema": G})
    gs, _ = ckpt_fakes.stylegan2_tf_pickle_states(G)
    ckpt_fakes.write_tf_pickle(d / "tf.pkl", gs)
    save_checkpoint(d / "native.pt", G_ema=G)
    torch.save({"g_ema": {"input.input": torch.zeros(1, 512, 4, 4), "conv1.conv.weight": torch.zeros(2)}},
               d / "ros_zip.pt")
    torch.save({"g_ema": {"input.input": torch.zeros(1, 4, 4, 4)}}, d / "legacy.pt",
               _use_new_zipfile_serialization=False)
    for p in d.iterdir():
        files[p.name] = p.read_bytes()
    return files


def _only_checkpoint_errors(path):
    try:
        load_checkpoint(path)
    except CheckpointError as e:
        assert "\n" not in str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(prefix=st.sampled_from([b"", b"\x80\x02", b"\x80\x04", b"\x80\x05", b"PK\x03\x04", b"(", b"c"]),
       data=st.binary(max_size=2048))
def test_random_bytes_only_raise_checkpoint_errors(tmp_path_factory, prefix, data):
    # The prefixes steer random bytes past the file-type check into torch.load and the restricted unpickler.
    path = tmp_path_factory.getbasetemp() / "random.bin"
    path.write_bytes(prefix + data)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.sampled_from(["nv.pkl", "tf.pkl", "native.pt", "ros_zip.pt", "legacy.pt"]),
       cut=st.floats(0, 1, exclude_max=True), flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                                          st.integers(1, 255)), max_size=3),
       prefix=st.sampled_from([b"", b"\x80\x04", b"PK\x03\x04", b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."]))
def test_truncated_and_corrupted_files_only_raise_checkpoint_errors(valid_files, tmp_path_factory, which, cut,
                                                                    flips, prefix):
    data = bytearray(valid_files[which])
    for pos, xor in flips:
        data[int(pos * len(data))] ^= xor
    data = prefix + bytes(data[: int(cut * len(data))])
    path = tmp_path_factory.getbasetemp() / f"broken-{which}"
    path.write_bytes(data)
    _only_checkpoint_errors(path)


def test_special_paths(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        load_checkpoint(tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pkl")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("hello.txt", "not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "other.zip")
    with open(tmp_path / "list.pkl", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(CheckpointError, match="unknown checkpoint format: a list"):
        load_checkpoint(tmp_path / "list.pkl")
