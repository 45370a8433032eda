"""``EXP_DIR/report.html``: one self-contained file a person can open — Table 1 with whatever
lines lead ``table.md`` and the paired comparison, the synthetic-data audit, Fig. 3, Fig. 4,
training curves, the synthetic sample grids (upscaled with nearest-neighbour so the pixels show),
the config and the timings. Images are embedded as base64 PNG data URIs; no external CSS or JS.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;
color:#222;padding:0 16px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f2f2f2}
tr:nth-child(even) td{background:#fafafa}
img{image-rendering:pixelated;max-width:100%;border:1px solid #ddd;margin:4px 0}
figure{margin:12px 0}figcaption{font-size:13px;color:#555}
pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
nav a{margin-right:12px}
"""


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _png(path: Path, alt: str, scale: int = 1) -> str:
    data = path.read_bytes()
    if scale > 1:
        from PIL import Image

        im = Image.open(io.BytesIO(data))
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        data = buf.getvalue()
    return _img(data, alt)


def _figure(path: Path, caption: str, scale: int = 1) -> str:
    return f"<figure>{_png(path, caption, scale)}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _csv_table(path: Path, max_rows: int = 500) -> str:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:max_rows + 1])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def grid_scale(image_size: int) -> int:
    """Nearest-neighbour factor that shows an image at >= ~112 px (28 px -> 4x), at most 8x."""
    return max(1, min(8, -(-112 // max(1, int(image_size)))))


def _answer(exp: Path, figs: Path) -> str:
    """The answer first: the verdict per generator and the forest plot of every row's ΔF1."""
    answer = []
    if (exp / "table.csv").is_file():
        from .tables import load_table
        from .verdict import verdict

        answer.append(_markdown("\n".join(verdict(load_table(exp), exp))))
    if (figs / "forest_f1.png").is_file():
        answer.append(_figure(figs / "forest_f1.png", "ΔF1 against Baseline per row: 95 % interval (black), the "
                              "verdict rows' Holm interval (red), the zero line, ± the effect of interest (dashed), "
                              "and the band each row's replicates detect with 80 % power (blue)"))
    return "".join(answer)


def _audit(exp: Path, plan: dict) -> str:
    """audit.csv as a table and each synthesis' closest copies."""
    audit = []
    if (exp / "audit.csv").is_file():
        audit.append("<p>Every class and overall, per synthesis (<code>audit.csv</code>); *_floor = real images the "
                     "feature encoder never saw (the validation split unless the features come from a file), as many "
                     "per class as the synthetic images they are compared with (<code>n_realism</code>).</p>"
                     + _csv_table(exp / "audit.csv"))
    for sid in sorted(plan.get("units", {}).get("synth", {})):
        wp = exp / "units" / f"audit-{sid}" / "worst_pairs.png"
        if wp.is_file():
            audit.append(_figure(wp, f"{sid}: the synthetic images closest to a training image (top) above that "
                                     "training image (bottom), by calibrated pixel distance"))
    return "".join(audit)


def _sample_grids(plan: dict) -> str:
    """Each synthesis' grid of samples per class, enlarged nearest-neighbour."""
    grids = []
    for sid, u in sorted(plan.get("units", {}).get("synth", {}).items()):
        g = Path(u["dir"]) / "grid.png"
        info = Path(u["dir"]) / "synth.json"
        if g.is_file() and info.is_file():
            s = grid_scale(json.loads(info.read_text()).get("image_size", 28))
            grids.append(_figure(g, f"{sid} ({u['generator']}): a row of samples per class, {s}x nearest-neighbour",
                                 scale=s))
    return "".join(grids)


def write_html(exp_dir) -> Path:
    exp = Path(exp_dir)
    cfg = json.loads((exp / "config.json").read_text()) if (exp / "config.json").is_file() else {}
    plan = json.loads((exp / "plan.json").read_text()) if (exp / "plan.json").is_file() else {"units": {}}
    figs = exp / "figures"
    title = f"genmix experiment: {cfg.get('name', exp.name)}"
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Data: <code>{html.escape(str(cfg.get('data', '')))}</code> · seeds: "
             f"{html.escape(str(cfg.get('seeds', '')))} · folder: <code>{html.escape(str(exp))}</code></p>"]
    nav = []

    def section(anchor, name, body):
        if body:
            nav.append(f'<a href="#{anchor}">{html.escape(name)}</a>')
            parts.append(f'<section id="{anchor}"><h2>{html.escape(name)}</h2>{body}</section>')

    section("answer", "The answer: does it beat Baseline?", _answer(exp, figs))
    # Table 1, its leading lines, the paired comparison and the audit summary, as table.md has them
    section("table1", "Table 1 and comparison with Baseline",
            _markdown((exp / "table.md").read_text()) if (exp / "table.md").is_file() else "")
    section("audit", "Audit per class, with the closest copies", _audit(exp, plan))

    def figures(pattern, caption):
        return "".join(_figure(p, caption(p)) for p in sorted(figs.glob(pattern))) if figs.is_dir() else ""

    section("fig3", "Fig. 3: real / synthetic / GenMix training images",
            figures("fig3_*.png", lambda p: p.stem.replace("fig3_", "generator ")))
    section("fig4", "Fig. 4: t-SNE of classifier features",
            figures("fig4_*.png", lambda p: p.stem.replace("fig4_tsne_", "row ")))
    section("curves", "Training curves", figures("curves_*.png", lambda p: p.stem.replace("curves_", "row ")))
    section("samples", "Synthetic samples", _sample_grids(plan))

    section("config", "Config", f"<pre>{html.escape(json.dumps(cfg, indent=2, default=str))}</pre>" if cfg else "")
    section("timings", "Timings (wall seconds per unit)",
            _csv_table(exp / "timings.csv") if (exp / "timings.csv").is_file() else "")

    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
           f"<nav>{''.join(nav)}</nav>{''.join(parts)}</body></html>\n")
    out = exp / "report.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(out)
    return out


def figure_html(path: Path, caption: str) -> str:
    """A PNG as an embedded <figure> with its caption."""
    return _figure(Path(path), caption)


def markdown_html(text: str) -> str:
    return _markdown(text)


def page(path: Path, title: str, body: str) -> Path:
    """A self-contained HTML page (this module's style), written atomically."""
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
           f"<h1>{html.escape(title)}</h1>{body}</body></html>\n")
    path = Path(path)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path
