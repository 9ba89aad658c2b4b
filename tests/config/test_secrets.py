"""No secret from the environment ends up in a run directory: not the wandb API key, not a
token that the config pulls in with `${oc.env:...}` (config tree, logged config, checkpoints)."""

from dlnotes.config.redact import REDACTED, redact
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides

API_KEY = "secret-value-3f9a1c"
TOKEN = "fake-token-77e2b4"


def test_redact_hides_secret_keys_and_secret_environment_values():
    config = {"wandb": {"api_key": "abc123"}, "note": f"url?t={TOKEN}", "tags": [TOKEN], "n": 3}
    assert redact(config, secrets=[TOKEN]) == {
        "wandb": {"api_key": REDACTED},
        "note": f"url?t={REDACTED}",
        "tags": [REDACTED],
        "n": 3,
    }


def test_no_secret_is_written_into_the_run_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", API_KEY)
    monkeypatch.setenv("DLNOTES_TEST_TOKEN", TOKEN)
    overrides = fast_overrides(
        "debug=limit",
        "trainer.max_epochs=1",
        "test=false",
        "logger=wandb",
        "logger.wandb.offline=true",
        "+note=${oc.env:DLNOTES_TEST_TOKEN}",  # a config value read from the environment
    )
    cfg = compose_config(overrides, tmp_path)
    assert cfg.note == TOKEN  # the value is really in the config
    train(cfg)

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {"config_tree.log", "config_resolved.yaml", "result.json", "last.ckpt"} <= {
        path.name for path in files
    }
    assert any(path.suffix == ".wandb" for path in files)  # wandb's offline record
    for path in files:
        content = path.read_bytes()
        assert API_KEY.encode() not in content and TOKEN.encode() not in content, path
    assert REDACTED in (tmp_path / "config_resolved.yaml").read_text()
