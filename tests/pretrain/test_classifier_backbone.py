import pytest
import torch
import yaml

from genmix.classify.models import create_model
from genmix.cli import main
from genmix.pretrain.classifier import backbone_config, save_backbone

HEAD = {"resnet18": "backbone.1.conv1.weight", "vgg16": "backbone.1.features.0.weight"}


def _backbone(path, name, corpus, channels=3, classes=5):
    torch.manual_seed(123)
    net = create_model(name, classes, channels, 16)
    save_backbone(path, net, {"model": name, "channels": channels, "image_size": 16, "corpus": corpus})
    return net


@pytest.fixture(scope="module", params=["resnet18", "vgg16"])
def backbone(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("bb") / f"{request.param}.safetensors"
    net = _backbone(path, request.param, ["simulated:fll"])
    return request.param, path, net


@pytest.mark.parametrize("channels", [1, 3])
def test_backbone_loads_with_adapted_first_conv(backbone, channels):
    name, path, src = backbone
    ref = src.state_dict()
    torch.manual_seed(0)  # another init: equal weights can only come from the file
    net = create_model(name, 2, channels, 16, pretrained=str(path))
    sd = net.state_dict()
    first = HEAD[name]
    same = [k for k in sd if k.startswith("backbone.1.") and k != first]
    assert len(same) > 10
    for k in same:
        assert torch.equal(sd[k], ref[k]), k
    assert sd["head.weight"].shape[0] == 2  # re-initialised for the target's classes
    w = ref[first]
    if channels == 3:
        assert torch.equal(sd[first], w)
    else:
        assert sd[first].shape[1] == 1 and torch.allclose(sd[first], w.sum(1, keepdim=True))
        # the adapted conv on a gray image == the original conv on that image replicated to RGB
        gray = torch.rand(2, 1, 16, 16)
        out1 = torch.nn.functional.conv2d(gray, sd[first], padding=1 if name == "vgg16" else 3,
                                          stride=1 if name == "vgg16" else 2)
        out3 = torch.nn.functional.conv2d(gray.repeat(1, 3, 1, 1), w, padding=1 if name == "vgg16" else 3,
                                          stride=1 if name == "vgg16" else 2)
        assert torch.allclose(out1, out3, atol=1e-5)
    # the head differs from an untrained model's only by its shape; forward runs
    assert net(torch.rand(2, channels, 16, 16)).shape == (2, 2)


def test_one_channel_backbone_repeated_over_rgb(tmp_path):
    path = tmp_path / "gray.safetensors"
    src = _backbone(path, "resnet18", ["simulated:fll"], channels=1)
    net = create_model("resnet18", 3, 3, 16, pretrained=str(path))
    w1, w3 = src.state_dict()["backbone.1.conv1.weight"], net.state_dict()["backbone.1.conv1.weight"]
    assert torch.allclose(w3, w1.repeat(1, 3, 1, 1) / 3)
    gray = torch.rand(1, 1, 16, 16)
    conv1, conv3 = src.backbone[1].conv1, net.backbone[1].conv1
    assert torch.allclose(conv3(gray.repeat(1, 3, 1, 1)), conv1(gray), atol=1e-5)


def test_wrong_model_or_file_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "r.safetensors"
    _backbone(path, "resnet18", ["simulated:fll"])
    from genmix.errors import GenmixError

    with pytest.raises(GenmixError, match="resnet18 backbone cannot load into vgg16"):
        create_model("vgg16", 2, 1, 16, pretrained=str(path))
    with pytest.raises(GenmixError, match="resnet18-cifar"):
        create_model("resnet18-cifar", 2, 1, 16, pretrained=str(path))


def test_overlapping_corpus_refused_by_cli(tmp_path, capsys):
    path = tmp_path / "bb.safetensors"
    _backbone(path, "resnet18", ["medmnist:pneumoniamnist", "simulated:fll"])
    out = tmp_path / "run"
    rc = main(["train-classifier", "--data", "simulated:fll@16", "--model", "resnet18", "--pretrained", str(path),
               "--out", str(out), "--epochs", "1", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and str(path) in err and "simulated:fll" in err
    assert not out.exists()
    # an experiment config with classifier: {pretrained: FILE} is refused before anything runs
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({"data": "simulated:fll@16", "seeds": [0], "rows": ["baseline"],
                                   "classifier": {"model": "resnet18", "epochs": 1, "pretrained": str(path)}}))
    rc = main(["run", str(cfg), "--out", str(tmp_path / "exp"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "shares its source" in err
    assert not (tmp_path / "exp" / "results.csv").exists()


def test_disjoint_backbone_trains_target(tmp_path):
    from genmix.classify.train import TrainConfig, train_classifier
    from genmix.data.base import ImageDataset, Split

    path = tmp_path / "bb.safetensors"
    _backbone(path, "resnet18", ["medmnist:pneumoniamnist"])
    g = torch.Generator().manual_seed(0)
    splits = {s: Split(s, torch.randint(0, 256, (12, 1, 16, 16), generator=g, dtype=torch.uint8),
                       torch.arange(12) % 2) for s in ("train", "val", "test")}
    ds = ImageDataset("folder:/nonexistent/tiny", ["a", "b"], splits)
    cfg = TrainConfig(data=ds.spec, model="resnet18", epochs=1, batch_size=6, pretrained=str(path))
    m = train_classifier(ds, cfg, tmp_path / "run", "cpu", progress=False)
    assert m["split"] == "test" and (tmp_path / "run" / "metrics.json").is_file()


def test_pretrain_beats_chance_on_held_out_corpus(tmp_path, medmnist_root, capsys):
    root = medmnist_root("bloodmnist")
    medmnist_root("pneumoniamnist")
    out = tmp_path / "bb.safetensors"
    rc = main(["pretrain-classifier", "--data", "medmnist:bloodmnist,medmnist:pneumoniamnist,medmnist:breastmnist",
               "--exclude-target", "medmnist:breastmnist", "--out", str(out), "--model", "smallcnn", "--epochs", "3", "--image-size", "16",
               "--max-per-dataset", "300", "--batch-size", "32", "--data-root", str(root), "--quiet"])
    assert rc == 0
    cfg = backbone_config(out)
    assert cfg["corpus"] == ["medmnist:bloodmnist", "medmnist:pneumoniamnist"]
    assert cfg["dropped"] == ["medmnist:breastmnist"] and cfg["excluded_targets"] == ["medmnist:breastmnist"]
    assert len(cfg["class_names"]) == 8 + 2 and cfg["epochs"] == 3 and cfg["model"] == "smallcnn"
    # held-out accuracy well above the majority class of the held-out images (chance)
    from genmix.pretrain.classifier import load_corpus

    val = load_corpus(cfg["corpus"], root, 16)["val"]
    majority = torch.bincount(val.labels).max().item() / len(val)
    assert cfg["final_val_acc"] > majority + 0.15, (cfg["final_val_acc"], majority)


def test_a_rebuilt_backbone_file_gives_new_classifier_units(tmp_path):
    """genmix run keys a classifier unit by its backbone file's content, not its path: rewriting the file
    (e.g. pretraining again) must not reuse results trained on the old weights."""
    from genmix.experiment.config import load_config
    from genmix.experiment.run import plan

    path = tmp_path / "bb.safetensors"
    _backbone(path, "resnet18", ["medmnist:pneumoniamnist"])
    cfg_path = tmp_path / "exp.yaml"
    cfg_path.write_text(yaml.safe_dump({"data": "simulated:fll@16", "seeds": [0], "rows": ["baseline"],
                                        "classifier": {"model": "resnet18", "epochs": 1, "pretrained": str(path)}}))

    def ids():
        return [u["id"] for u in plan(load_config(cfg_path), tmp_path / "exp", [0])["units"]["clf"]]

    first = ids()
    assert ids() == first  # unchanged file: the same (cached) units
    torch.manual_seed(7)
    save_backbone(path, create_model("resnet18", 5, 3, 16),
                  {"model": "resnet18", "channels": 3, "image_size": 16, "corpus": ["medmnist:pneumoniamnist"]})
    assert len(ids()) == 1 and ids() != first


def test_keep_best_writes_the_epoch_held_out_images_rank_first(tmp_path):
    """keep="best": the file holds the weights of the epoch with the best held-out corpus accuracy (the
    epochs chosen on held-out corpus images), and its config says which; keep="last" the final epoch's."""
    from genmix.checkpoint import load_state
    from genmix.pretrain.classifier import accuracy, load_corpus, pretrain_classifier

    kw = dict(model="smallcnn", epochs=4, image_size=16, batch_size=16, lr=3e-2, progress=False)
    best = pretrain_classifier(["simulated:fll"], tmp_path / "best.safetensors", keep="best", **kw)
    last = pretrain_classifier(["simulated:fll"], tmp_path / "last.safetensors", **kw)
    accs = [h["val_acc"] for h in best["history"]]
    assert [h["val_acc"] for h in last["history"]] == accs  # the same training either way
    assert best["chosen_epoch"] == accs.index(max(accs)) + 1 and best["chosen_val_acc"] == max(accs)
    assert best["chosen_epoch"] != 4  # in this setting the best epoch is not the last: the files differ
    assert last["chosen_epoch"] == 4 and last["keep"] == "last"
    val = load_corpus(["simulated:fll"], None, 16)["val"]
    for cfg, name in ((best, "best"), (last, "last")):
        net = create_model("smallcnn", len(cfg["class_names"]), 3, 16)
        net.load_state_dict(load_state(tmp_path / f"{name}.safetensors")["model"])
        assert accuracy(net, val, "cpu") == pytest.approx(cfg["chosen_val_acc"], abs=1e-5)
