"""CelebA format round trips, image folders / zips, resizing, and bad data (library and CLI)."""

import zipfile

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganeval.cli import main
from ganeval.data import export_synthfaces, open_dataset, synthfaces, write_celeba
from ganeval.data.attributes import CELEBA_ATTRS, CELEBA_TO_NVIDIA, NVIDIA_ATTRS
from ganeval.data.dataset import box_downsample_uint8
from ganeval.errors import DataError


@pytest.mark.parametrize("as_zip", [False, True])
def test_synthfaces_round_trip(tmp_path, as_zip):
    out = tmp_path / ("sf.zip" if as_zip else "sf")
    export_synthfaces(out, count=12, resolution=32, seed=4, zip=as_zip)
    if as_zip:
        assert zipfile.is_zipfile(out)
    else:
        assert (out / "list_attr_celeba.txt").read_text().splitlines()[1].split() == CELEBA_ATTRS
        assert sorted(p.name for p in (out / "img_align_celeba").iterdir())[0] == "000001.png"
    ds = open_dataset(out)
    ref, ref_lab = synthfaces.render(range(12), seed=4, resolution=32)
    assert len(ds) == 12 and ds.attr_names == NVIDIA_ATTRS and ds.resolution == 32
    for i in range(12):
        img, lab = ds[i]
        assert torch.equal(img, ref[i]) and torch.equal(lab, ref_lab[i])
    # The 80/10/10 partition travels in list_eval_partition.txt.
    assert [len(open_dataset(out, split=s)) for s in ("train", "val", "test")] == [9, 1, 2]
    assert torch.equal(open_dataset(out, split="test")[0][0], ref[10])
    assert not list(tmp_path.glob("**/*.tmp"))


def test_write_celeba_from_a_dataset_and_refuses_non_empty_dir(tmp_path):
    src = open_dataset("synthfaces:5?res=32&seed=1")
    write_celeba(tmp_path / "copy", src)
    back = open_dataset(tmp_path / "copy")
    assert torch.equal(back.labels, src.labels) and torch.equal(back[4][0], src[4][0])
    with pytest.raises(DataError):
        write_celeba(tmp_path / "copy", src)


def _celeba_like(root, n=3, size=(178, 218), nested=False, ext="jpg"):
    """A miniature of a real CelebA download: jpg images, double-spaced attribute rows."""
    img_dir = root / "img_align_celeba"
    if nested:  # Kaggle's copy: img_align_celeba/img_align_celeba/
        img_dir = img_dir / "img_align_celeba"
    img_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=(n, 40))
    rows = []
    for i in range(n):
        name = f"{i + 1:06d}.{ext}"
        arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(img_dir / name)
        rows.append(name + "  " + "  ".join("1" if v else "-1" for v in labels[i]))
    (root / "list_attr_celeba.txt").write_text(f"{n}\n" + " ".join(CELEBA_ATTRS) + " \n" + "\n".join(rows) + "\n")
    return labels


def test_real_celeba_layout_jpg_crop_and_resize(tmp_path):
    labels = _celeba_like(tmp_path, nested=True)
    ds = open_dataset(tmp_path, resolution=64)
    assert len(ds) == 3 and ds.resize_filter == "lanczos"
    img, lab = ds[1]
    assert img.shape == (3, 64, 64) and img.dtype == torch.uint8
    assert torch.equal(lab, torch.as_tensor(labels[1][CELEBA_TO_NVIDIA]))  # CelebA columns -> NVIDIA order
    assert open_dataset(tmp_path, resolution=89).resize_filter == "box"  # 178 px crop / 2
    assert open_dataset(tmp_path).resolution == 178
    with pytest.raises(DataError, match="list_eval_partition"):
        open_dataset(tmp_path, split="test")


def test_box_downsample_is_the_exact_rounded_mean():
    x = torch.tensor([[[[0, 1, 10, 10], [1, 1, 10, 11], [255, 255, 0, 0], [255, 254, 0, 1]]]], dtype=torch.uint8)
    y = box_downsample_uint8(x, 2)
    assert y.tolist() == [[[[1, 10], [255, 0]]]]  # 0.75 -> 1, 10.25 -> 10, 254.75 -> 255, 0.25 -> 0


def test_image_folder_and_zip(tmp_path):
    root = tmp_path / "imgs"
    (root / "b").mkdir(parents=True)
    arrs = [np.full((16, 16, 3), v, np.uint8) for v in (10, 20, 30)]
    Image.fromarray(arrs[0]).save(root / "a.png")
    Image.fromarray(arrs[1]).save(root / "b" / "c.webp", lossless=True)
    Image.fromarray(arrs[2]).save(root / "b" / "d.png")
    (root / "notes.txt").write_text("not an image")
    ds = open_dataset(root, resolution=8)
    assert len(ds) == 3 and ds.attr_names == [] and ds.resize_filter == "box"
    img, lab = ds[1]
    assert img.shape == (3, 8, 8) and int(img[0, 0, 0]) == 20 and lab.shape == (0,) and lab.dtype == torch.int64
    assert len(open_dataset(root, xflip=True)) == 6
    identity = ds.identity
    Image.fromarray(arrs[0]).save(root / "e.png")
    assert open_dataset(root, resolution=8).identity != identity
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as zf:
        for p in sorted(root.rglob("*.png")):
            zf.write(p, p.relative_to(root).as_posix())
    zds = open_dataset(tmp_path / "imgs.zip")
    assert len(zds) == 3 and zds.resolution == 16 and int(zds[2][0][0, 0, 0]) == 10


def _one_line(exc):
    msg = str(exc.value)
    assert msg and "\n" not in msg
    return msg


def test_bad_data_raises_one_line_data_errors(tmp_path):
    with pytest.raises(DataError) as e:
        open_dataset(tmp_path / "missing")
    assert "not found" in _one_line(e)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as e:
        open_dataset(tmp_path / "empty")
    assert "no images" in _one_line(e)

    bad = tmp_path / "bad"
    _celeba_like(bad, n=2, size=(20, 20))
    text = (bad / "list_attr_celeba.txt").read_text().splitlines()
    (bad / "list_attr_celeba.txt").write_text("\n".join(text[:2] + [text[2].rsplit(" ", 1)[0], text[3]]))
    with pytest.raises(DataError) as e:
        open_dataset(bad)
    assert "39 attribute columns" in _one_line(e)
    (bad / "list_attr_celeba.txt").write_text("\n".join(["2", "Male Young"] + text[2:]))
    with pytest.raises(DataError) as e:
        open_dataset(bad)
    _one_line(e)
    (bad / "list_attr_celeba.txt").write_text("\n".join(["3"] + text[1:]) + "\n000009.jpg" + " 1" * 40)
    with pytest.raises(DataError) as e:
        open_dataset(bad)
    assert "missing" in _one_line(e)

    broken = tmp_path / "broken"
    broken.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(broken / "a.png")
    (broken / "b.png").write_bytes(b"not a png at all")
    ds = open_dataset(broken)
    with pytest.raises(DataError) as e:
        ds[1]
    assert "b.png" in _one_line(e)
    with pytest.raises(DataError):
        open_dataset(broken, split="train")


def test_cli_bad_data_is_one_line_exit_2(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["classifiers", "eval", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "not found" in result.stderr
    assert "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(main, ["classifiers", "train", "--data", str(tmp_path / "empty"), "--out",
                                  str(tmp_path / "c.pt")])
    assert result.exit_code == 2 and result.stderr.strip().count("\n") == 0
    result = runner.invoke(main, ["data", "synthfaces", "--n", "3"])
    assert result.exit_code == 2 and "nothing to do" in result.stderr


def test_cli_synthfaces_export_and_stats(tmp_path):
    runner = CliRunner()
    out = tmp_path / "sf"
    result = runner.invoke(main, ["data", "synthfaces", "--n", "4", "--resolution", "32", "--seed", "1",
                                  "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(open_dataset(out)) == 4
    result = runner.invoke(main, ["data", "synthfaces", "--n", "300", "--stats"])
    assert result.exit_code == 0, result.output
    assert "Wearing_Necktie" in result.stdout and "frequency" in result.stdout


def test_sixteen_bit_and_mixed_grayscale_rgb_folders(tmp_path):
    """A 16-bit grayscale PNG reads as its 8-bit counterpart (not clipped to white), and one grayscale image
    sorting first does not make an RGB folder grayscale: each image is converted to the set's mode."""
    from PIL import Image

    from ganeval.data import open_dataset

    rng = np.random.default_rng(0)
    gray16 = rng.integers(0, 65536, (8, 8), dtype=np.uint16)
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(gray16).save(folder / "a-gray16.png")          # sorts first
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "b-rgb.png")
    ds = open_dataset(str(folder))
    assert ds.num_channels == 3
    first, second = ds[0][0], ds[1][0]
    expected = np.clip(np.round(gray16 / 257), 0, 255).astype(np.uint8)
    for c in range(3):
        np.testing.assert_array_equal(first[c].numpy(), expected)
    np.testing.assert_array_equal(second.permute(1, 2, 0).numpy(), rgb)
    only_gray = tmp_path / "gray"
    only_gray.mkdir()
    Image.fromarray(gray16).save(only_gray / "a.png")
    ds = open_dataset(str(only_gray))
    assert ds.num_channels == 1
    np.testing.assert_array_equal(ds[0][0][0].numpy(), expected)
