import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from genmix.cli import main
from genmix.experiment.config import expand_rows, load_config
from genmix.experiment.run import run_experiment
from tests.helpers import make_folder_dataset

TINY = {
    "data": "simulated:fll@16",
    "seeds": [0, 1],
    "classifier": {"model": "smallcnn", "epochs": 2, "batch_size": 64, "lr": 0.003, "patience": 5},
    "generators": {"dcgan": {"preset": "quick", "steps": 20, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16},
                   # a generator whose training fails (no pretrained pipeline there): its rows are "not run"
                   "textual-inversion": {"preset": "quick", "pretrained": "/nonexistent/ldm-pipeline"}},
    "rows": ["baseline", "mixup", "synthetic:dcgan", "genmix:dcgan", "genmix:textual-inversion",
             {"name": "GenMix (DCGAN, balanced)", "augment": "genmix", "generator": "dcgan", "balance": True}],
}


def _config(tmp_path, **over):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump({**TINY, **over}))
    return p


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    cfg = _config(tmp)
    rc = main(["run", str(cfg), "--out", str(tmp / "exp"), "--quiet"])
    assert rc == 0
    return tmp / "exp", cfg


def test_run_writes_every_output(full_run):
    exp, _ = full_run
    for f in ("results.csv", "table.md", "table.csv", "table.tex", "timings.csv", "units.log"):
        assert (exp / f).is_file(), f
    rows = _rows(exp / "results.csv")
    assert len(rows) == 12  # 6 rows x 2 seeds
    done = [r for r in rows if r["status"] == "done"]
    assert len(done) == 10
    for col in ("row", "generator", "ratio", "alpha", "seed", "accuracy", "f1_macro", "auc_macro",
                "cyst/sensitivity", "metastasis/specificity"):
        assert col in rows[0]
    table = (exp / "table.md").read_text()
    for name in ("Baseline", "MixUp", "DCGAN (50%)", "GenMix (DCGAN)", "GenMix (DCGAN, balanced)"):
        assert f"| {name} |" in table
    assert "Sens hemangioma" in table and "McNemar" in table
    trows = _rows(exp / "table.csv")
    gm = next(r for r in trows if r["row"] == "GenMix (DCGAN)")
    assert gm["n_seeds"] == "2" and gm["delta_f1_macro_mean"] != "" and len(gm["mcnemar_p_per_seed"].split()) == 2
    figs = {p.name for p in (exp / "figures").iterdir()}
    assert {"fig3_dcgan.png", "fig4_tsne_genmix-dcgan.png", "curves_baseline.png"} <= figs


def test_failed_generator_rows_are_marked_not_run(full_run):
    exp, _ = full_run
    st = [r for r in _rows(exp / "results.csv") if r["row"] == "GenMix (Textual Inversion)"]
    assert len(st) == 2 and all(r["status"] == "not run" and "textual-inversion" in r["reason"] for r in st)
    assert all(r["accuracy"] == "" for r in st)
    assert "| GenMix (Textual Inversion) | not run" in (exp / "table.md").read_text()
    assert not list((exp / "units").glob("*.partial"))  # every unit finished and renamed


def test_interrupted_run_resumes_to_the_same_results(full_run, tmp_path):
    exp_full, cfg_path = full_run
    cfg = load_config(cfg_path)
    exp = tmp_path / "exp"
    first = run_experiment(cfg, exp, progress=False, stop_after_units=4)
    assert len(first) == 4
    # an unfinished classifier unit with a checkpoint mid-way, as a kill would leave it
    from genmix.classify.train import TrainConfig, train_classifier
    from genmix.experiment.run import plan
    from genmix.experiment.units import cached_dataset

    pending = [u for u in plan(cfg, exp, cfg["seeds"])["units"]["clf"]
               if u["status"] == "planned" and u["id"] not in first]
    u = pending[0]
    ds = cached_dataset(u["data"]["spec"], None, None, None)
    train_classifier(ds, TrainConfig.from_dict(u["train_config"]), u["dir"], "cpu", progress=False, stop_after=1)
    second = run_experiment(cfg, exp, progress=False)
    # nothing finished was executed again; only the generator whose pretrained model is missing is retried
    missing = [g for g in second if g.startswith("gen-textual-inversion-")]
    assert len(missing) == 1 and set(first) & set(second) <= set(missing)
    assert set(first) | set(second) == {l.split()[1] for l in (exp_full / "units.log").read_text().splitlines()
                                        if l.startswith("ran")}
    assert (exp / "results.csv").read_text() == (exp_full / "results.csv").read_text()
    assert run_experiment(cfg, exp, progress=False) == missing  # a third run finds the rest done


def test_report_rebuilds_tables_from_disk(full_run, tmp_path, capsys):
    exp, _ = full_run
    before = (exp / "table.md").read_text()
    (exp / "table.md").unlink()
    assert main(["report", str(exp), "--no-figures"]) == 0
    assert (exp / "table.md").read_text() == before
    assert main(["report", str(tmp_path)]) == 2


def test_bad_configs_are_clear_errors(tmp_path, capsys):
    bad = _config(tmp_path, rows=["baseline", "gan-magic"])
    assert main(["run", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "unknown row 'gan-magic'" in capsys.readouterr().err and not (tmp_path / "x").exists()
    p = tmp_path / "y.yaml"
    p.write_text("data: [unclosed\n")
    assert main(["run", str(p), "--out", str(tmp_path / "y")]) == 2
    assert str(p) in capsys.readouterr().err


def test_parallel_workers_finish_every_unit(tmp_path):
    cfg = _config(tmp_path, rows=["baseline", "cutmix"], generators={},
                  classifier={"model": "smallcnn", "epochs": 1, "batch_size": 64})
    exp = tmp_path / "exp"
    ran = run_experiment(load_config(cfg), exp, workers=2, progress=False)
    assert len(ran) == 4
    rows = _rows(exp / "results.csv")
    assert [r["status"] for r in rows] == ["done"] * 4
    assert {(r["row"], r["seed"]) for r in rows} == {(n, s) for n in ("Baseline", "CutMix") for s in ("0", "1")}


def test_genmix_rows_run_epochs_over_the_pool_unless_told_and_bad_epoch_is_a_clear_error(tmp_path, capsys):
    rows = {r["name"]: r for r in expand_rows(load_config(_config(tmp_path)))}
    assert rows["GenMix (DCGAN)"]["epoch"] == "pool" and rows["GenMix (DCGAN, balanced)"]["epoch"] == "pool"
    rows = {r["name"]: r for r in expand_rows(load_config(_config(tmp_path, genmix={"epoch": "real"})))}
    assert rows["GenMix (DCGAN)"]["epoch"] == "real"
    bad = _config(tmp_path, genmix={"epoch": "synthetic"})
    assert main(["run", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "genmix.epoch: must be 'pool' or 'real'" in capsys.readouterr().err and not (tmp_path / "x").exists()


def _save_unet(path, seed):
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    UNet2DModel(sample_size=16, in_channels=1, out_channels=1, block_out_channels=(16, 32), layers_per_block=1,
                down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                norm_num_groups=8).save_pretrained(path)


def test_a_model_built_after_a_run_is_used_by_the_next_run_and_a_rebuilt_one_retrains(tmp_path):
    """A pretrained folder that is not there yet makes its rows 'not run' without caching that failure;
    once it is built the same command trains on it, and a rebuilt folder is a new generator unit."""
    model = tmp_path / "models" / "unet"
    make_folder_dataset(tmp_path / "data", (16, 16))
    cfg = load_config(_config(tmp_path, data=f"folder:{tmp_path / 'data'}", seeds=[0], rows=["baseline", "genmix:ddpm"], audit=False,
                              classifier={**TINY["classifier"], "epochs": 1}, generators={
        "ddpm": {"init": str(model), "steps": 2, "batch_size": 8, "block_out_channels": [16, 32],
                 "attention_levels": [False, False], "checkpoint_every": 100, "log_every": 1, "sampling_steps": 2,
                 "synthesis": {"sample": {"steps": 2}}}}))
    exp = tmp_path / "exp"

    def status():
        return {r["row"]: (r["status"], r["reason"]) for r in _rows(exp / "results.csv")}

    first = run_experiment(cfg, exp, progress=False)
    assert status()["GenMix (Diffusion)"][0] == "not run" and "cannot load" in status()["GenMix (Diffusion)"][1]
    assert status()["Baseline"][0] == "done"
    assert run_experiment(cfg, exp, progress=False) == [g for g in first if g.startswith("gen-")]  # retried
    _save_unet(model, 0)
    ran = run_experiment(cfg, exp, progress=False)
    assert sorted(u.split("-")[0] for u in ran) == ["clf", "gen", "synth"]  # Baseline reused
    assert status()["GenMix (Diffusion)"][0] == "done"
    assert run_experiment(cfg, exp, progress=False) == []  # built and unchanged: everything cached
    _save_unet(model, 1)  # rebuilt with other weights: its results are not reused
    rerun = run_experiment(cfg, exp, progress=False)
    assert [u for u in rerun if u.startswith("gen-")] and not set(rerun) & set(ran)


def test_data_flag_runs_the_config_on_other_data_and_bad_data_writes_nothing(tmp_path, capsys):
    make_folder_dataset(tmp_path / "mine", (6, 6))
    cfg = tmp_path / "c.yaml"  # the config's own data does not exist: only --data can make this run
    cfg.write_text(yaml.safe_dump({"data": f"folder:{tmp_path / 'nowhere'}", "seeds": [0], "rows": ["baseline"],
                                   "classifier": {"model": "smallcnn", "epochs": 1, "batch_size": 8}}))
    assert main(["run", str(cfg), "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere" in err and not (tmp_path / "bad").exists()
    assert main(["run", str(cfg), "--data", "bogus:x", "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "bogus:x" in capsys.readouterr().err and not (tmp_path / "bad").exists()

    exp = tmp_path / "exp"
    assert main(["run", str(cfg), "--data", f"folder:{tmp_path / 'mine'}", "--out", str(exp), "--quiet"]) == 0
    recorded = json.loads((exp / "config.json").read_text())
    assert recorded["data"] == f"folder:{tmp_path / 'mine'}"
    manifest = _rows(exp / "split_manifest.csv")
    assert len(manifest) == 36 and {m["label"] for m in manifest} == {"dark", "bright"}
    assert [r["status"] for r in _rows(exp / "results.csv")] == ["done"]


def test_own_data_config_selects_over_the_studied_candidates_with_a_baseline_fallback():
    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "own-data.yaml")
    assert cfg["budget"] == "equal" and cfg["replicate"] == "full" and len(cfg["seeds"]) >= 5
    selected = [r for r in expand_rows(cfg) if r.get("select") == "val"]
    assert {r["generator"] for r in selected} == set(cfg["generators"])
    for r in selected:
        cands = r["candidate_settings"]
        assert cands[0] == {"augment": "none"}  # selection may fall back to Baseline
        assert {(c["alpha"], c["ratio"], c["balance"]) for c in cands[1:]} == {
            (a, q, b) for a in (0.3, 1.0) for q in (0.25, 0.5) for b in (False, True)}
