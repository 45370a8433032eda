"""The audit inside genmix run (audit.csv, the audit table under Table 1, the `audit` config key)
and the self-contained HTML report, opened in headless Chromium."""

import csv
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from genmix.cli import main
from genmix.experiment.config import load_config
from genmix.experiment.report import report
from genmix.experiment.run import run_experiment

TINY = {
    "data": "simulated:fll@16",
    "seeds": [0],
    "classifier": {"model": "smallcnn", "epochs": 1, "batch_size": 64, "lr": 0.003, "patience": 5},
    "generators": {"dcgan": {"preset": "quick", "steps": 20, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "genmix:dcgan"],
    "audit": {"samples_per_class": 8, "epochs": 1},
}


def _config(tmp_path, **over):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump({**TINY, **over}))
    return p


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    assert main(["run", str(_config(tmp)), "--out", str(tmp / "exp"), "--quiet"]) == 0
    return tmp / "exp"


def test_run_audits_each_synthesis_and_shows_it_next_to_table_1(exp, tmp_path):
    with open(exp / "audit.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["class"] for r in rows] == ["cyst", "hemangioma", "metastasis", "overall"]
    assert all(r["generator"] == "dcgan" and r["synthesis"].startswith("synth-dcgan-") for r in rows)
    assert rows[-1]["n_synthetic"] == "24" and float(rows[-1]["fd"]) > 0 and float(rows[-1]["fd_floor"]) > 0
    table = (exp / "table.md").read_text()
    assert table.index("| Baseline |") < table.index("## Audit of the synthetic images")
    assert re.search(r"\| dcgan \| ratio 0.5 \| 24 \| \d+ \| [0-9.e+-]+ \[[0-9.e+-]+\] \|", table)
    # cached: a second run neither recomputes the audit nor changes the table
    aj = next((exp / "units").glob("audit-synth-*/audit.json"))
    before, mtime = table, aj.stat().st_mtime_ns
    cfg = load_config(_config(tmp_path))
    assert run_experiment(cfg, exp, progress=False) == []
    report(exp, figures=False)
    assert aj.stat().st_mtime_ns == mtime and (exp / "table.md").read_text() == before
    # an audit cached by an older audit method is recomputed (its numbers meant something else)
    from genmix.audit import METHOD

    j = json.loads(aj.read_text())
    aj.write_text(json.dumps({**j, "settings": {**j["settings"], "method": METHOD - 1}}))
    assert run_experiment(cfg, exp, progress=False) == [aj.parent.name]  # that audit alone, as a graph unit
    assert json.loads(aj.read_text())["settings"]["method"] == METHOD
    report(exp, figures=False)
    assert (exp / "table.md").read_text() == before  # same method, same seeds: the same numbers


def test_audit_false_turns_it_off_and_bad_audit_settings_are_clear_errors(exp, tmp_path, capsys):
    off = tmp_path / "exp"
    shutil.copytree(exp, off)
    cfg = load_config(_config(tmp_path, audit=False))
    run_experiment(cfg, off, progress=False)
    report(off, figures=False)
    assert not (off / "audit.csv").exists() and "Audit" not in (off / "table.md").read_text()
    for bad, msg in (({"samples_per_class": 0}, "audit.samples_per_class: must be >= 1, got 0"),
                     ({"sample": 3}, "audit.sample: unknown key"), ("yes", "audit: must be a valid boolean")):
        p = _config(tmp_path, audit=bad)
        assert main(["run", str(p), "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert msg in err and str(p) in err and not (tmp_path / "x").exists()


PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push(e.message || ('failed to load ' + (e.target && e.target.tagName))); }, true);
(function () { var oe = console.error; console.error = function () {
  window.__errors.push(Array.prototype.join.call(arguments, ' ')); oe.apply(console, arguments); }; })();
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = document.createElement('pre'); out.id = 'probe';
  out.textContent = 'PRO' + 'BE' + JSON.stringify({errors: window.__errors,
    images: imgs.map(function (i) { return [i.complete, i.naturalWidth, i.naturalHeight, i.src.slice(0, 22)]; }),
    rows: document.querySelectorAll('tr').length, tables: document.querySelectorAll('table').length}) + 'EBO' + 'RP';
  document.body.appendChild(out);
});
</script>"""


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        msg = "chromium not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def _headless(exe, tmp_path, *args):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def test_html_report_is_self_contained_and_renders_in_chromium(exp, tmp_path):
    exe = _chromium()
    page = exp / "report.html"
    doc = page.read_text()
    assert "<script" not in doc and not re.search(r"""(src|href)=["'](?!data:|#)""", doc)  # nothing external
    # the answer opens the report: the verdict and the forest plot of ΔF1, before Table 1
    answer, table1 = doc.index('<section id="answer">'), doc.index('<section id="table1">')
    assert answer < doc.index('alt="ΔF1 against Baseline per row') < table1 < doc.index('<section id="fig3">')
    assert "GenMix (DCGAN) is indistinguishable from Baseline" in doc[answer:table1]
    for heading in ("Table 1", "Audit of the synthetic images", "Audit per class", "Fig. 3", "Fig. 4", "Training curves",
                    "Synthetic samples", "Config", "Timings"):
        assert heading in doc, heading
    probe = tmp_path / "probe.html"
    probe.write_text(doc.replace("<head>", "<head>" + PROBE, 1))
    r = _headless(exe, tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    m = re.search(r"PROBE(.*?)EBORP", r.stdout, re.S)
    assert m, r.stderr[-2000:]
    got = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert got["errors"] == [] and "Uncaught" not in r.stderr
    n_img = doc.count("<img ")
    assert n_img >= 5 and len(got["images"]) == n_img
    assert all(c and w > 0 and h > 0 and src == "data:image/png;base64," for c, w, h, src in got["images"])
    assert got["tables"] >= 4 and got["rows"] >= 10
    dom = r.stdout
    assert "<td>Baseline</td>" in dom and "<td>GenMix (DCGAN)</td>" in dom and "<td>overall</td>" in dom
    # the synthetic grid is upscaled: 16 px tiles shown 7x
    from genmix.experiment.html import grid_scale

    assert grid_scale(16) == 7 and grid_scale(28) == 4 and grid_scale(128) == 1
    shot = tmp_path / "shot.png"
    _headless(exe, tmp_path, "--screenshot=" + str(shot), "--window-size=1280,2400", page.as_uri())
    from PIL import Image, ImageStat

    im = Image.open(shot).convert("L")
    assert im.size == (1280, 2400)
    assert ImageStat.Stat(im).stddev[0] > 10 and len(im.getcolors(1 << 16) or []) > 20  # not blank
