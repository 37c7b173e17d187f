"""Few-shot track: ResNet-12, Omniglot splits, episodes, pre-training, head fitting, report, CLI."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo import data
from zoo.cli import main as zoo_main
from zoo.fewshot import checkpoint
from zoo.fewshot.backbone import ResNet12, block_channels
from zoo.fewshot.datasets import load_split
from zoo.fewshot.episodes import sample_episode
from zoo.fewshot.pretrain import PretrainConfig, augment, pretrain
from zoo.optimizer import Context
from zoo.registry import default_registry
from zoo.reports import tables_for



@pytest.fixture
def omniglot_root(shared_data):
    data.set_data_root(shared_data)
    yield shared_data
    data.set_data_root(None)


# Small enough for a shared CPU, large enough that features carry over to unseen alphabets.
WIDTH = 0.125
TINY_ARGS = ["--dataset", "omniglot", "--width", str(WIDTH), "--epochs", "3", "--batch", "32", "--image-size", "20", "--device", "cpu"]


@pytest.fixture(scope="module")
def backbone_file(tmp_path_factory, shared_data):
    """A tiny ResNet-12 pre-trained on Omniglot's base alphabets by ``zoo pretrain`` (shared by the tests below)."""
    path = tmp_path_factory.mktemp("fewshot") / "omniglot-tiny.pt"
    assert zoo_main(["pretrain", *TINY_ARGS, "--out", str(path), "--data-root", str(shared_data)]) == 0
    data.set_data_root(None)
    return path


def test_pretrain_command_refuses_other_settings_and_missing_data(backbone_file, shared_data, tmp_path, capsys):
    stamp = backbone_file.stat().st_mtime_ns
    assert zoo_main(["pretrain", *TINY_ARGS, "--out", str(backbone_file), "--data-root", str(shared_data)]) == 0
    assert backbone_file.stat().st_mtime_ns == stamp  # complete: nothing to do
    assert zoo_main(["pretrain", *TINY_ARGS, "--epochs", "4", "--out", str(backbone_file)]) == 2
    assert "other settings (epochs: 3 there, 4 now)" in capsys.readouterr().err
    assert zoo_main(["pretrain", *TINY_ARGS, "--out", str(tmp_path / "x.pt"), "--data-root", str(tmp_path)]) == 2
    assert "no Omniglot under data root" in capsys.readouterr().err
    data.set_data_root(None)


def test_resnet12_takes_any_input_size_and_gives_640w_features():
    net = ResNet12(in_channels=3, width=0.25).eval()
    for side in (16, 32, 84):
        assert net(torch.zeros(2, 3, side, side)).shape == (2, 160)
    assert block_channels(1.0) == (64, 160, 320, 640)
    assert sum(p.numel() for p in ResNet12(3, 1.0).parameters()) > 12_000_000  # the standard ~12.4M backbone
    with pytest.raises(ValueError, match="at least 16 pixels"):
        net(torch.zeros(1, 3, 8, 8))


def test_omniglot_splits_by_alphabet_and_reads_each_drawing_once(omniglot_root):
    splits = {name: load_split("omniglot", name) for name in ("base", "val", "novel")}
    assert {k: len(v.classes) for k, v in splits.items()} == {"base": 153, "val": 17, "novel": 72}
    assert sum(len(v.images) for v in splits.values()) == 242 * 20  # Greek and Latin, in both zips, count once
    alphabets = {k: {c.split("/")[0] for c in v.classes} for k, v in splits.items()}
    assert alphabets["novel"] == {"Early_Aramaic", "Greek", "Latin"}
    assert not alphabets["base"] & alphabets["novel"] and not alphabets["val"] & alphabets["novel"]
    novel = splits["novel"]
    assert novel.images.shape[1:] == (1, 28, 28) and novel.images.dtype == np.uint8
    assert np.bincount(novel.labels).tolist() == [20] * 72
    assert novel.images.mean() < 60  # inverted: bright strokes on a dark background


def test_episodes_are_reproducible_disjoint_and_paired_across_shots():
    labels = np.repeat(np.arange(12), 20)
    a, b = sample_episode(labels, 5, 5, 15, seed=3), sample_episode(labels, 5, 5, 15, seed=3)
    assert np.array_equal(a.support, b.support) and np.array_equal(a.query, b.query)
    assert not set(a.support) & set(a.query)
    assert np.array_equal(labels[a.support], a.classes[a.support_labels])
    assert np.array_equal(labels[a.query], a.classes[a.query_labels])
    assert not np.array_equal(sample_episode(labels, 5, 5, 15, seed=4).query, a.query)
    one_shot = sample_episode(labels, 5, 1, 15, seed=3)
    assert np.array_equal(one_shot.query, a.query) and set(one_shot.support) <= set(a.support)
    with pytest.raises(ValueError, match="fewer than shots"):
        sample_episode(labels, 5, 6, 15, seed=0)


def test_augmentation_shifts_and_flips_without_changing_content():
    images = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).view(2, 1, 6, 6)
    out = augment(images, torch.Generator().manual_seed(0), pad=0, flip=True)
    for original, moved in zip(images, out):
        assert torch.equal(moved, original) or torch.equal(moved, original.flip(-1))
    shifted = augment(images, torch.Generator().manual_seed(1), pad=2, flip=False)
    assert shifted.shape == images.shape and int(shifted.sum()) <= int(images.sum())


def test_pretraining_resumes_to_the_same_weights(omniglot_root, tmp_path):
    config = PretrainConfig(dataset="omniglot", width=0.0625, epochs=2, batch=256, image_size=16, seed=1)
    straight = tmp_path / "straight.pt"
    pretrain(config, straight)

    def stop(epoch, record):
        raise KeyboardInterrupt

    resumed = tmp_path / "resumed.pt"
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, resumed, on_epoch=stop)
    halfway = checkpoint.load(resumed)
    assert halfway["meta"]["epochs_done"] == 1 and not halfway["meta"]["complete"] and halfway["optimizer"] is not None
    with pytest.raises(ValueError, match="unfinished"):
        checkpoint.read(resumed)
    epochs_run = []
    meta = pretrain(config, resumed, on_epoch=lambda epoch, record: epochs_run.append(epoch))
    assert epochs_run == [2] and meta["complete"] and len(meta["feature_mean"]) == block_channels(0.0625)[-1]
    a, b = checkpoint.load(straight), checkpoint.load(resumed)
    for key, value in a["backbone"].items():
        assert torch.allclose(value.float(), b["backbone"][key].float(), atol=1e-5), key
    assert a["meta"]["holdout_acc"] == pytest.approx(b["meta"]["holdout_acc"])
    assert b["optimizer"] is None  # dropped once complete
    with pytest.raises(Exception, match="other settings"):
        pretrain(PretrainConfig(**{**config.__dict__, "epochs": 3}), resumed)


def test_pretraining_learns_the_base_classes(backbone_file):
    meta = checkpoint.read(backbone_file)["meta"]
    assert meta["dataset"] == "omniglot" and meta["split"] == "base" and meta["width"] == WIDTH
    assert len(meta["classes"]) == 153 and meta["image_size"] == 20 and meta["epochs_done"] == 3
    assert meta["holdout_acc"] > 0.2  # chance on 153 classes is 0.7%


def fit_heads(backbone_file, optimizer, params, episodes=5, shots=5):
    registry = default_registry()
    task = registry.get("task", "fewshot").build(checkpoint=str(backbone_file))
    spec = registry.get("optimizer", optimizer)
    accuracies = []
    for seed in range(episodes):
        problem = task.sample(5 * shots, seed)
        model = registry.get("model", "linear").build(input_shape=problem.input_shape, num_classes=problem.num_classes)
        outcome = spec.build(**spec.resolve(params)).run(problem, model, Context(seed=seed))
        assert outcome.test_acc, f"{optimizer} reported no model in episode {seed}"
        accuracies.append(statistics.fmean(outcome.test_acc))
    return accuracies


@pytest.mark.parametrize("optimizer, params", [
    ("pattern_search", {"max_evals": 200_000, "objective": "cross_entropy"}),  # only a search that fits reports a model
    ("sgd", {"lr": 0.5, "init": "default", "batch": 5, "epochs": 50, "population": 8, "target": 4, "max_models": 8}),
])
def test_heads_on_frozen_features_beat_chance_on_novel_alphabets(omniglot_root, backbone_file, optimizer, params):
    accuracies = fit_heads(backbone_file, optimizer, params)
    assert statistics.fmean(accuracies) > 0.5, accuracies  # 5-way chance is 0.2


def test_fewshot_task_gives_support_and_query_sets(omniglot_root, backbone_file):
    registry = default_registry()
    task = registry.get("task", "fewshot").build(checkpoint=str(backbone_file), queries=10)
    problem = task.sample(10, seed=7)  # 5-way 2-shot
    dim = block_channels(WIDTH)[-1]
    assert task.input_shape == (dim,) and problem.x_train.shape == (10, dim) and problem.x_test.shape == (50, dim)
    assert torch.bincount(problem.y_train).tolist() == [2] * 5 and torch.bincount(problem.y_test).tolist() == [10] * 5
    assert torch.allclose(problem.x_train.norm(dim=1), torch.ones(10), atol=1e-5)
    assert len(set(problem.classes)) == 5 and all(c.split("/")[0] in ("Early_Aramaic", "Greek", "Latin") for c in problem.classes)
    again = task.sample(10, seed=7)
    assert torch.equal(again.x_train, problem.x_train) and torch.equal(again.x_test, problem.x_test)
    with pytest.raises(ValueError, match="multiple of ways"):
        task.sample(7, seed=0)
    maps = registry.get("task", "fewshot").build(checkpoint=str(backbone_file), features="block3")
    assert maps.input_shape == (block_channels(WIDTH)[2], 2, 2)
    with pytest.raises(ValueError, match="pre-trained on 'omniglot'"):
        registry.get("task", "fewshot").build(dataset="cifar_fs", checkpoint=str(backbone_file))


def test_checkpoint_paths_resolve_against_cwd_then_data_root(tmp_path, monkeypatch):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "b.pt").write_bytes(b"not a checkpoint")
    monkeypatch.chdir(tmp_path)
    data.set_data_root(tmp_path / "root")
    try:
        assert checkpoint.resolve("b.pt") == (tmp_path / "root" / "b.pt").resolve()
        with pytest.raises(ValueError, match="not a readable checkpoint"):
            checkpoint.read("b.pt")
        with pytest.raises(FileNotFoundError, match="zoo pretrain"):
            checkpoint.resolve("missing.pt")
    finally:
        data.set_data_root(None)


def test_resnet12_population_matches_the_module_and_fine_tunes_the_last_block(omniglot_root, backbone_file):
    registry = default_registry()
    task = registry.get("task", "fewshot").build(checkpoint=str(backbone_file), features="block3")
    problem = task.sample(10, seed=1)
    model = registry.get("model", "resnet12").build(input_shape=problem.input_shape, num_classes=5, blocks=1,
                                                    checkpoint=str(backbone_file))
    theta = model.init_default(3, torch.Generator().manual_seed(0))
    frozen, _ = checkpoint.frozen_backbone(backbone_file)
    views = model.unflatten(theta)
    pooled = frozen.blocks["3"](problem.x_train).mean((-2, -1))
    expected = pooled @ views["head.weight"][1].T + views["head.bias"][1]
    assert torch.allclose(model.forward(theta, problem.x_train)[1], expected, atol=1e-4)
    assert torch.equal(views["backbone.blocks.3.convs.0.0.weight"][0], frozen.blocks["3"].convs[0][0].weight)
    with pytest.raises(ValueError, match="block3"):
        registry.get("model", "resnet12").build(input_shape=(7, 2, 2), num_classes=5, blocks=1, checkpoint=str(backbone_file))
    whole = registry.get("model", "resnet12").build(input_shape=(1, 20, 20), num_classes=5, width=0.125)
    assert whole.forward(whole.init_uniform(2, 1.0), torch.zeros(3, 1, 20, 20)).shape == (2, 3, 5)


def record(label, n, seed, accuracies, wall=0.5, ways=5):
    return {"bench": "fs", "report": "episodes", "task": "fewshot", "model": "linear", "label": label, "n": n, "seed": seed,
            "axes": {}, "spec": {"task": {"name": "fewshot", "params": {"ways": ways, "dataset": "omniglot"}}},
            "metrics": {"test_acc_values": accuracies, "wall_time": wall, "counters": {"tested": 1, "accepted": len(accuracies)}}}


def test_episode_report_gives_mean_and_95_percent_interval_per_optimizer():
    records = [record("PS", 25, s, [a]) for s, a in enumerate([0.9, 0.8, 0.7, 0.8])]
    records += [record("SGD", 25, s, [a, a + 0.1]) for s, a in enumerate([0.6, 0.7, 0.8, 0.7])]
    records += [record("G&C", 25, s, []) for s in range(4)] + [record("G&C", 5, 0, [0.5])]
    accuracy, *differences, cost = tables_for(records)
    assert accuracy.columns == ["setting", "PS", "SGD", "G&C"]
    assert [row[0] for row in accuracy.rows] == ["5-way 1-shot", "5-way 5-shot"]
    ps, sgd, gc = accuracy.rows[1][1:]
    std = statistics.pstdev([0.9, 0.8, 0.7, 0.8])
    assert ps.count == 4 and ps.mean == pytest.approx(0.8)
    assert str(ps) == f"80.00 ± {196 * std / 2:.2f} (4)"
    assert sgd.mean == pytest.approx(0.75)  # per episode the mean of its models, then over episodes
    assert gc.count == 0 and str(gc) == "– (0)"
    assert ["5-way 5-shot", "G&C", 4, 0, "0 / 4", "0.50"] in [[str(v) if not isinstance(v, int) else v for v in row] for row in cost.rows]
    ps_sgd = differences[0].rows[0]  # 5-way 5-shot: paired by episode, each episode weighs the same
    assert differences[0].title.startswith("fs: PS − SGD") and ps_sgd[0] == "5-way 5-shot"
    assert ps_sgd[1].comparison.estimate == pytest.approx(5.0) and ps_sgd[2] == 4


def test_the_fewshot_manifests_validate(omniglot_root, backbone_file, tmp_path, monkeypatch):
    import shutil

    from zoo import manifest
    from zoo.errors import ManifestError

    manifests = Path(__file__).resolve().parents[1] / "manifests"
    monkeypatch.chdir(tmp_path)  # checkpoint paths in the manifests are relative to the working directory
    with pytest.raises(ManifestError, match="zoo pretrain"):
        manifest.load(manifests / "fewshot.toml", default_registry(), data_root=str(omniglot_root))
    (tmp_path / "results" / "fewshot").mkdir(parents=True)
    shutil.copy(backbone_file, tmp_path / "results" / "fewshot" / "omniglot-resnet12-w0.25.pt")
    reduced = manifest.load(manifests / "fewshot-omniglot.toml", default_registry(), data_root=str(omniglot_root))
    cells = reduced.cells
    assert len(cells) == 2 * 100 * 6 and {c.n for c in cells} == {5, 25}
    assert {c.report for c in cells} == {"episodes"}
