"""wandb is the default logger: offline without credentials, and the run's own records
(read back with `wandb leet inspect --json`) hold the metrics, the config and the images, the
monitored metric's best value as the summary, and with log_model the checkpoints."""

import json

import pytest

from dlnotes.errors import ConfigError
from dlnotes.loggers.wandb import has_wandb_credentials, wandb_logger
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.wandb_records import (
    final_summary,
    history_items,
    history_rows,
    logged_config,
    of_type,
    read_records,
)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("wandb_run")
    overrides = ["debug=limit", "logger=wandb", "tags=[test]", "logger.wandb.log_model=true"]
    cfg = compose_config(fast_overrides(*overrides), out)
    with pytest.MonkeyPatch.context() as patch:  # the checkpoints staged for upload: in tmp
        patch.setenv("WANDB_DATA_DIR", str(out / "wandb_data"))
        train(cfg)
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    return read_records(run_dir)


def test_run_is_offline_with_project_and_tags(records):
    (run,) = of_type(records, "run")
    assert run["project"] == "dlnotes" and run["tags"] == ["test"]
    assert any(t.get("feature", {}).get("offline") for t in of_type(records, "telemetry"))


def test_full_resolved_config_is_logged_as_hyperparameters(records):
    config = logged_config(records)
    assert config["model"]["net"]["_target_"] == "dlnotes.nets.nin.NIN"
    assert config["data"]["image_shape"] == [1, 32, 32]
    assert config["trainer"]["max_epochs"] == 2 and config["seed"] == 12345
    provenance = config["provenance"]
    assert len(provenance["git"]["commit"]) == 40 and "torch" in provenance["versions"]


def metric_definitions(records) -> dict[str, dict]:
    return {m["name"]: m for m in of_type(records, "metric") if "name" in m}


def test_summary_holds_the_best_monitored_value_and_epoch_metrics_use_the_epoch(records):
    values = [item["val/acc"] for item in history_rows(records) if "val/acc" in item]
    assert len(values) == 2  # two epochs
    assert final_summary(records)["val/acc"] == {"max": max(values)}
    defined = metric_definitions(records)
    assert defined["val/acc"]["summary"] == {"max": True}
    for epoch_metric in ("val/acc", "val/loss", "train/acc", "train/loss_epoch", "test/acc"):
        assert defined[epoch_metric]["step_metric"] == "epoch", epoch_metric
    assert "step_metric" not in defined.get("train/loss_step", {})  # per step: global step
    assert all("epoch" in item for item in history_rows(records) if "val/acc" in item)


def test_log_model_uploads_the_best_and_last_checkpoints_with_aliases(records):
    (run,) = of_type(records, "run")
    artifacts = of_type(records, "artifact")
    assert {artifact["name"] for artifact in artifacts} == {f"model-{run['run_id']}"}
    by_alias = {alias: a for a in artifacts for alias in a["aliases"]}
    assert {"best", "last", "latest"} <= set(by_alias)
    best = json.loads(by_alias["best"]["metadata"])
    last = json.loads(by_alias["last"]["metadata"])
    assert best["original_filename"].startswith("epoch_") and best["monitor"] == "val/acc"
    assert best["score"] == final_summary(records)["val/acc"]["max"]
    assert last["original_filename"] == "last.ckpt"
    assert "latest" in by_alias["last"]["aliases"]  # the last upload is the newest version
    for artifact in artifacts:
        (entry,) = artifact["manifest"]["contents"]
        assert entry["path"] == "model.ckpt" and int(entry["size"]) > 0


def test_history_has_train_val_test_metrics_and_the_confusion_matrix_image(records):
    items = history_items(records)
    assert {"train/loss_step", "train/acc", "val/acc", "val/loss", "test/acc", "lr-SGD"} <= set(
        items
    )
    assert items["test/confusion_matrix._type"] == "images/separated"
    assert items["test/confusion_matrix.filenames"][0].endswith(".png")


def test_offline_unless_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    assert not has_wandb_credentials()
    assert wandb_logger(save_dir=str(tmp_path), project="p")._offline
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert has_wandb_credentials()
    assert not wandb_logger(save_dir=str(tmp_path), project="p")._offline


def test_vae_run_records_its_image_panels(tmp_path):
    overrides = ["model=vae", "debug=limit", "logger=wandb", "model.latent_dim=2"]
    train(compose_config(fast_overrides(*overrides), tmp_path))
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    items = history_items(read_records(run_dir))
    for panel in ("val/samples", "val/reconstructions", "val/latent_manifold"):
        assert items[f"{panel}._type"] == "images/separated", panel
    assert {"val/loss", "val/latent_loss", "val/generation_loss", "val/recon_ratio"} <= set(items)
    records = read_records(run_dir)
    losses = [item["val/loss"] for item in history_rows(records) if "val/loss" in item]
    assert final_summary(records)["val/loss"] == {"min": min(losses)}  # the VAE minimizes it


def test_gan_run_records_its_sample_grid_and_loss_parts(tmp_path):
    train(compose_config(fast_overrides("model=gan", "debug=limit", "logger=wandb"), tmp_path))
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    items = history_items(read_records(run_dir))
    assert items["val/samples._type"] == "images/separated"
    parts = {"train/d_loss", "train/d_loss_real", "train/d_loss_fake", "train/g_loss"}
    assert parts | {"train/d_real", "train/d_fake"} <= set(items)


def run_record(wandb_dir) -> dict:
    (record,) = of_type(read_records(wandb_dir), "run")
    return record


@pytest.mark.parametrize("ckpt_path", ["last", "file"])
def test_continuing_from_a_checkpoint_continues_its_wandb_run(ckpt_path, tmp_path):
    """`ckpt_path=last` in the run directory, or `ckpt_path=<file>` into a new directory:
    either way the records go on in the checkpoint's wandb run (same id, marked resumed)."""
    first_dir = tmp_path / "first"
    overrides = fast_overrides(
        "data.image_size=16",
        "logger=wandb",
        "test=false",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
    )
    train(compose_config([*overrides, "trainer.max_epochs=1"], first_dir))
    (first,) = (first_dir / "wandb").glob("offline-run-*")
    checkpoint = first_dir / "checkpoints" / "last.ckpt"
    second_dir = first_dir if ckpt_path == "last" else tmp_path / "second"
    target = "last" if ckpt_path == "last" else str(checkpoint)
    train(compose_config([*overrides, "trainer.max_epochs=2", f"ckpt_path={target}"], second_dir))
    (second,) = [p for p in (second_dir / "wandb").glob("offline-run-*") if p != first]
    record = run_record(second)
    assert record["run_id"] == run_record(first)["run_id"]
    assert record["resume"]


def test_watch_records_the_gradients_and_refuses_an_unknown_kind(tmp_path):
    """logger.wandb.watch=gradients: wandb.watch histograms of the gradients in the history
    (every step here); an unknown kind is one line."""
    overrides = [
        "debug=limit",
        "logger=wandb",
        "logger.wandb.watch=gradients",
        "logger.wandb.watch_log_freq=1",
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb_data"))
        train(compose_config(fast_overrides(*overrides), tmp_path))
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    keys = {key for row in history_rows(read_records(run_dir)) for key in row}
    assert any(key.startswith("gradients/") for key in keys), sorted(keys)[:20]
    with pytest.raises(ConfigError, match="logger.wandb.watch=weights: choose one of"):
        wandb_logger(watch="weights", save_dir=str(tmp_path))
