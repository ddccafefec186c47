"""Writing a report folder: tidy results, the wide table, plots, grids and one self-contained index.html."""

from __future__ import annotations

import base64
import datetime
import html
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..images import save_png
from ..utils import atomic_write
from . import grids, plots
from .sections import sections
from .tables import summary_rows

PROTOCOL_COLUMNS = ["label", "metric", "space", "num_samples", "protocol_samples", "seed", "feature_net", "crop",
                    "sampling", "method", "precision", "epsilon", "resize_rule", "psi", "ci_method", "time_s",
                    "note"]


def markdown_table(df: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    d = df.reset_index() if index else df
    head = "| " + " | ".join(str(c) for c in d.columns) + " |"
    sep = "|" + "|".join("---" for _ in d.columns) + "|"
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in d.itertuples(index=False)]
    return "\n".join([head, sep] + body) + "\n"


def _html_table(df: pd.DataFrame, index: bool = False) -> str:
    d = df.reset_index() if index else df
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in d.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in d.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>' \
           f"{html.escape(alt)}</figcaption></figure>"


def write_report(result, out: Path, models, presets, command=None, device="cpu") -> None:
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    table = result.table
    with atomic_write(out / "results.csv", suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)
    files["results.csv"] = out / "results.csv"
    with atomic_write(out / "results.parquet", suffix=".parquet") as tmp:   # pyarrow is a dependency
        table.astype({c: str for c in table.columns if table[c].dtype == object}).to_parquet(tmp, index=False)
    files["results.parquet"] = out / "results.parquet"
    with atomic_write(out / "table.md", suffix=".md") as tmp:
        tmp.write_text(markdown_table(result.wide))
    files["table.md"] = out / "table.md"

    # Plots.
    figures: list[tuple[str, Path]] = []
    summary = summary_rows(table) if len(table) else table
    for name, fn, arg in (
        ("metric vs mapping depth (95% intervals)", plots.metric_vs_depth, summary),
        ("truncation curves", plots.truncation_curves, result.truncation),
        ("PPL distance histograms", plots.ppl_histograms, result.distances),
        ("per-attribute conditional entropy", plots.entropy_heatmap,
         table[table["attr"].notna() & (table["attr"] != "ALL")] if "attr" in table.columns else None),
    ):
        fname = name.split(" (")[0].replace(" ", "_").replace("-", "_") + ".png"
        p = fn(arg, out / fname)
        if p is not None:
            figures.append((name, p))
            files[fname] = p

    # Image grids per checkpoint.
    grid_sections = []
    for i, (label, G) in enumerate(models):
        items = [("uncurated samples (seeds 0-31, const noise)", grids.uncurated(G, device=device))]
        mix = grids.mixing(G, device=device)
        if mix is not None:
            items.append(("style mixing: rows take the coarse styles, columns the fine", mix))
        items.append(("interpolation in Z (slerp)", grids.interpolation(G, "z", device=device)))
        if G.has_w:
            items.append(("interpolation in W (lerp)", grids.interpolation(G, "w", device=device)))
        if any(True for _ in G.noise_buffers()):
            items.append(("stochastic variation: one w, fresh noise; last: per-pixel std over 100 draws",
                          grids.stochastic_variation(G, device=device)))
        paths = []
        for j, (caption, arr) in enumerate(items):
            p = out / f"grid-{i:02d}-{j}.png"
            save_png(arr, p)
            files[p.name] = p
            paths.append((caption, p))
        grid_sections.append((label, paths))

    # Plugins' sections (sections.py): per checkpoint a table and images; all rows also in <name>.csv.
    section_parts = []
    for section in sections():
        found = result.sections.get(section.name)
        if not found:
            continue
        rows = pd.concat([sec["table"].assign(label=label) for label, sec in found.items()], ignore_index=True)
        with atomic_write(out / f"{section.name}.csv", suffix=".csv") as tmp:
            rows.to_csv(tmp, index=False)
        files[f"{section.name}.csv"] = out / f"{section.name}.csv"
        section_parts += [f"<h2 id='{html.escape(section.name)}'>{html.escape(section.title)}</h2>",
                          f"<p>{html.escape(section.intro)}</p>"]
        for label, sec in found.items():
            t = sec["table"]
            section_parts += [f"<h3>{html.escape(label)}</h3>", _html_table(t[[c for c in section.columns
                                                                                  if c in t.columns]])]
            section_parts += [_img(p, section.caption(key)) for key, p in sec["images"].items()]

    protocol = table[[c for c in PROTOCOL_COLUMNS if c in table.columns]]
    if "attr" in table.columns:
        protocol = protocol[table["attr"].isna() | (table["attr"] == "ALL")]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ganeval report</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:1em 0;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#eee}"
        "img{max-width:100%;image-rendering:pixelated}figure{display:inline-block;margin:0.5em}"
        "figcaption{font-size:12px;color:#555}code{background:#f4f4f4;padding:2px 4px}",
        "</style></head><body>",
        "<h1>ganeval report</h1>",
        f"<p>ganeval {html.escape(__version__)}, {datetime.datetime.now().isoformat(timespec='seconds')}; "
        f"metrics: {html.escape(', '.join(presets))}.</p>",
    ]
    if command:
        parts.append(f"<p>Command: <code>{html.escape(command)}</code></p>")
    parts += ["<h2 id='results'>Results</h2>",
              "<p>Values with their 95% intervals; cells marked n/a could not be computed for that model.</p>",
              _html_table(result.wide, index=True),
              "<h2 id='plots'>Plots</h2>"]
    parts += [_img(p, name) for name, p in figures]
    parts += ["<h2 id='grids'>Image grids</h2>"]
    for label, paths in grid_sections:
        parts.append(f"<h3>{html.escape(label)}</h3>")
        parts += [_img(p, caption) for caption, p in paths]
    parts += section_parts
    parts += ["<h2 id='protocol'>Protocol of every number</h2>", _html_table(protocol),
              "<p>The full tidy table (every column, per-attribute rows) is in results.csv / results.parquet.</p>",
              "</body></html>"]
    with atomic_write(out / "index.html", suffix=".html") as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")
    files["index.html"] = out / "index.html"
    result.out, result.files = out, files
