"""The table of bad inputs: every one ends in one line on stderr, exit code 2, and no output file left behind.

Each case is a command line a user can type, with placeholders for the files of `test_bad_input...`: `{tmp}` a
fresh folder, `{file}` a regular file in it, `{dir}` a non-empty folder, `{png_dir}` an empty folder named like
an image, `{link}` / `{csv_link}` symbolic links, `{fifo}` a named pipe, `{nan_ckpt}` a checkpoint whose
weights are all NaN, `{evil}` a .pt file that carries code, `{empty}` an empty file, `{junk}` random bytes,
`{stats_dim}` a statistics file of the wrong dimension, `{stats_nan}` one with NaN. The output a case names
(`--out`, `--plot`, `--save-ref`) must not exist afterwards, and no other file appears.
"""

import os
import shlex

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ganeval
from ganeval.cli import main

MODEL = "synthfaces-stylegan-map8"

CASES = [
    # Usage errors: one line, not click's usage block.
    ("ppl --ckpt {MODEL} --bogus-option", "--bogus-option"),
    ("fid --ckpt {MODEL}", "--data"),
    ("ppl --ckpt {MODEL} --space q", "--space"),
    ("nosuchcommand", "nosuchcommand"),
    # Checkpoints that are missing, empty, random or refused.
    ("info {tmp}/nope.pt", "no such checkpoint"),
    ("info {empty}", "empty file"),
    ("info {junk}", "unknown checkpoint format"),
    ("info {evil}", "refused"),
    ("info {dir}", "is not a file"),
    ("train --resume {evil}", "refused"),
    ("convert {tmp}/nope.pt {tmp}/out.pt", "no such checkpoint"),
    ("compare {tmp}/a.pt {tmp}/b.pt --metrics ppl2_wend_synth --out {tmp}/report", "no checkpoint loads"),
    # Outputs that cannot or must not be written: refused before the work.
    ("generate {MODEL} --out {tmp}/grid.jpg", ".png"),
    ("generate {MODEL} --out {png_dir}", "folder"),
    ("generate {MODEL} --out {file}/grid.png", "is a file"),
    ("generate {MODEL} --out {link}", "symbolic link"),
    ("generate {MODEL} --out {fifo}", "FIFO"),
    ("ppl --ckpt {MODEL} --distance mse --samples 16 --out {tmp}/t.xyz", ".csv"),
    ("ppl --ckpt {MODEL} --distance mse --samples 16 --out {file}/t.csv", "is a file"),
    ("separability --ckpt {MODEL} --samples 64 --out {csv_link}", "symbolic link"),
    ("fid --ckpt {MODEL} --data synthfaces:64?res=64 --feature-net synth-fd --save-ref {dir}", "folder"),
    ("truncation --ckpt {MODEL} --metrics ppl2_wend_synth --plot {tmp}/p.xyz", ".png"),
    ("evaluate --ckpt {MODEL} --metrics ppl2_wend_synth --out {tmp}/t.txt", ".csv"),
    ("compare {MODEL} --metrics ppl2_wend_synth --out {file}", "file of that name"),
    ("demo --out {file}", "file of that name"),
    ("convert {MODEL} {fifo}", "FIFO"),
    ("classifiers train --data synthfaces:64 --out {dir}", "folder"),
    ("data synthfaces --n 16 --out {dir}", "not an empty directory"),
    ("project {MODEL} --target {tmp}/none.png --out {file}", "file of that name"),
    ("control generate {MODEL} --out {tmp}/x.gif", ".png"),
    # Numbers out of range, non-finite or too large to plan.
    ("ppl --ckpt {MODEL} --distance mse --samples 1000000000000", "samples"),
    ("fid --ckpt {MODEL} --data synthfaces:64?res=64 --feature-net synth-fd --samples 1000000000000", "samples"),
    ("separability --ckpt {MODEL} --samples 1000000000000", "samples"),
    ("ppl --ckpt {MODEL} --epsilon 0", "--epsilon"),
    ("ppl --ckpt {MODEL} --epsilon nan", "--epsilon"),
    ("ppl --ckpt {MODEL} --epsilon -1", "--epsilon"),
    ("ppl --ckpt {MODEL} --psi nan", "--psi"),
    ("ppl --ckpt {MODEL} --cutoff -1", "--cutoff"),
    ("ppl --ckpt {MODEL} --batch-size 0", "--batch-size"),
    ("ppl --ckpt {MODEL} --distance mse --samples 16 --bootstrap 1000000000", "bootstrap"),
    ("separability --ckpt {MODEL} --psi nan", "--psi"),
    ("separability --ckpt {MODEL} --n-jobs 0", "--n-jobs"),
    ("separability --ckpt {MODEL} --n-jobs -5", "--n-jobs"),
    ("separability --ckpt {MODEL} --keep 0", "--keep"),
    ("separability --ckpt {MODEL} --svm sag", "--svm"),
    ("separability --ckpt {MODEL} --svm batched --n-jobs 2", "--n-jobs"),
    ("ppl --ckpt {MODEL} --method newton", "--method"),
    ("ppl --ckpt {MODEL} --method jvp --epsilon 1e-3", "--epsilon"),
    ("ppl --ckpt {MODEL} --precision bf16", "--precision"),
    ("fid --ckpt {MODEL} --data synthfaces:64?res=64 --num-real 1", "--num-real"),
    ("truncation --ckpt {MODEL} --psi a:b:c --metrics ppl2_wend_synth", "psi"),
    ("truncation --ckpt {MODEL} --psi nan --metrics ppl2_wend_synth", "finite"),
    ("evaluate --ckpt {MODEL} --metrics ppl2_wend_synth --psi inf", "--psi"),
    ("generate {MODEL} --seeds 18446744073709551616 --out {tmp}/g.png", "seeds"),
    ("generate {MODEL} --seeds 0-10000000 --out {tmp}/g.png", "seeds"),
    ("generate {MODEL} --seeds -3 --out {tmp}/g.png", "seeds"),
    ("generate {MODEL} --nrow -2 --out {tmp}/g.png", "--nrow"),
    ("generate {MODEL} --psi nan --out {tmp}/g.png", "--psi"),
    ("data synthfaces --n 1000000000000 --stats", "--n"),
    ("data synthfaces --n 0 --stats", "--n"),
    ("classifiers train --data synthfaces:64 --lr nan --out {tmp}/c.pt", "--lr"),
    ("classifiers train --data synthfaces:64 --epochs 0 --out {tmp}/c.pt", "--epochs"),
    ("train --data synthfaces:64 --workers -1 --dry-run", "--workers"),
    ("train --data synthfaces:64 --z-dim 0 --dry-run", "--z-dim"),
    ("train --data synthfaces:64 --mapping-depth 99 --dry-run", "--mapping-depth"),
    ("train --data synthfaces:64 --batch 8 --batch-gpu 3 --dry-run", "--batch-gpu"),
    ("train --data synthfaces:64 --lr nan --dry-run", "--lr"),
    ("train --data synthfaces:64 --arch biggan --dry-run", "biggan"),
    ("train --data {tmp}/nope --dry-run", "no such dataset"),
    ("control train {MODEL} --steps 0", "--steps"),
    ("demo --scale nan", "--scale"),
    # Names that do not exist.
    ("evaluate --ckpt {MODEL} --metrics fid50k_ful", "fid50k_ful"),
    ("truncation --ckpt {MODEL} --metrics nope", "nope"),
    ("separability --ckpt {MODEL} --samples 64 --attrs smilling", "smilling"),
    ("separability --ckpt {MODEL} --samples 64 --classifiers {tmp}/none.pt", "none.pt"),
    ("ppl --ckpt {MODEL} --samples 16 --distance nope", "nope"),
    ("fid --ckpt {MODEL} --data synthfaces:64?res=64 --feature-net alexnet --samples 16", "alexnet"),
    ("fid --ckpt {MODEL} --data {tmp}/nope --feature-net synth-fd --samples 16", "nope"),
    ("weights fetch nonexistent-weights", "nonexistent-weights"),
    ("control generate {MODEL} --out {tmp}/c.png", "stylegan2-control"),
    # Numbers that would mean nothing.
    ("generate {nan_ckpt} --out {tmp}/g.png", "NaN"),
    ("fid --ckpt {nan_ckpt} --data synthfaces:64?res=64 --feature-net synth-fd --samples 16", "NaN"),
    ("ppl --ckpt {nan_ckpt} --distance mse --samples 16", "NaN"),
    ("ppl --ckpt {nan_ckpt} --distance mse --samples 16 --method jvp", "NaN"),
    ("separability --ckpt {nan_ckpt} --samples 64", "NaN"),
    ("fid --ckpt {MODEL} --data {stats_dim} --feature-net synth-fd --samples 16", "damaged statistics"),
    ("fid --ckpt {MODEL} --data {stats_nan} --feature-net synth-fd --samples 16", "damaged statistics"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-inputs-shared")
    G = ganeval.load_generator(MODEL)
    with torch.no_grad():
        for p in G.parameters():
            p.fill_(float("nan"))
    ganeval.save_checkpoint(d / "nan.pt", G=G)
    torch.save({"G": torch.zeros(1), "hook": os.PathLike}, d / "evil.pt")   # a class in the pickle: refused
    (d / "empty.pt").write_bytes(b"")
    (d / "junk.pt").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    from ganeval.metrics import ReferenceStats

    ReferenceStats(np.zeros(7), np.eye(3), 10, "synth-fd").save(d / "dim.npz")
    ReferenceStats(np.full(1280, np.nan), np.eye(1280), 10, "synth-fd").save(d / "nan.npz")
    return dict(nan_ckpt=d / "nan.pt", evil=d / "evil.pt", empty=d / "empty.pt", junk=d / "junk.pt",
                stats_dim=d / "dim.npz", stats_nan=d / "nan.npz")


OUTPUT_OPTIONS = ("--out", "--plot", "--save-ref")


@pytest.mark.parametrize("line, says", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(line, says, tmp_path, files, monkeypatch):
    (tmp_path / "file.txt").write_text("a file")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep.txt").write_text("someone's")
    (tmp_path / "grid-folder.png").mkdir()
    (tmp_path / "link.png").symlink_to(tmp_path / "file.txt")
    (tmp_path / "link.csv").symlink_to(tmp_path / "file.txt")
    os.mkfifo(tmp_path / "fifo")
    names = dict(MODEL=MODEL, tmp=tmp_path, file=tmp_path / "file.txt", dir=tmp_path / "dir",
                 png_dir=tmp_path / "grid-folder.png", link=tmp_path / "link.png", csv_link=tmp_path / "link.csv",
                 fifo=tmp_path / "fifo", **files)
    argv = [a.format(**names) for a in shlex.split(line)]
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, argv)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2, r.output[-2000:]
    assert len(lines) == 1 and lines[0].startswith("ganeval: error: ") and "Traceback" not in r.output, r.output
    assert says.lower() in lines[0].lower(), lines[0]
    # Nothing written: no new file in the folder, the named output absent, the existing ones untouched.
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    for opt in OUTPUT_OPTIONS:
        if opt in argv:
            out = argv[argv.index(opt) + 1]
            existing = [str(names[k]) for k in ("file", "dir", "png_dir", "link", "csv_link", "fifo")]
            assert out.startswith(str(tmp_path)) and (not os.path.lexists(out) or out in existing)
    assert (tmp_path / "file.txt").read_text() == "a file" and (tmp_path / "dir" / "keep.txt").is_file()
    assert os.path.islink(tmp_path / "link.png") and os.path.islink(tmp_path / "link.csv")
