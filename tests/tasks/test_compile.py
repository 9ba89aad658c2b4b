"""`model.compile=true` for every task: each net goes through torch.compile in place, the task
trains, and its checkpoint holds the same keys as an uncompiled one (so eval, predict and export
read it); the detectors refuse in one line; classifier checkpoints written before (the net
stored twice, as `net.*` and `forward_net.*`) still load.

torch.compile runs here with its "eager" backend: Dynamo traces each net (what fails for a net
it cannot trace), without minutes of C++ code generation on a 2-core CPU.
"""

import pytest
import torch
from hydra.errors import InstantiationException
from torch import nn

from dlnotes.errors import user_error
from dlnotes.export import export
from dlnotes.train import train
from helpers.compose import TINY_TRAININGS, compose_config, composed_parts, fast_overrides

ONE_STEP = [
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=1",
]
COMPILED_NETS = {  # kind: the attributes of the task that torch.compile takes
    "classifier": {"net"},
    "segmenter": {"net"},
    "vae": {"encoder", "decoder"},
    "gan": {"generator", "discriminator"},
}
KIND_OVERRIDES = {**TINY_TRAININGS, "gan": ["model=gan", "data.image_size=16"]}


@pytest.fixture
def compiled(monkeypatch) -> list[nn.Module]:
    """The modules `nn.Module.compile` was called on, compiled with the eager backend."""
    modules = []
    original = nn.Module.compile

    def compile_eagerly(module, *args, **kwargs):
        modules.append(module)
        original(module, *args, backend="eager", **kwargs)

    monkeypatch.setattr(nn.Module, "compile", compile_eagerly)
    torch._dynamo.reset()
    return modules


@pytest.mark.parametrize("kind", sorted(COMPILED_NETS))
def test_every_task_compiles_its_nets_and_trains(kind, compiled, tmp_path):
    overrides = [*ONE_STEP, *KIND_OVERRIDES[kind], "model.compile=true"]
    _, objects = train(compose_config(fast_overrides(*overrides), tmp_path))
    model = objects["model"]
    compiled_ids = {id(module) for module in compiled}  # by identity: metrics overload ==
    names = {name for name, module in model.named_children() if id(module) in compiled_ids}
    assert names == COMPILED_NETS[kind]
    assert objects["trainer"].global_step > 0
    _, uncompiled = composed_parts([*KIND_OVERRIDES[kind], "model.compile=false"], tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["state_dict"].keys() == uncompiled.state_dict().keys()


def test_a_compiled_classifier_exports_its_plain_net(compiled, tmp_path):
    overrides = [*ONE_STEP, *TINY_TRAININGS["classifier"], "model.compile=true", "test=false"]
    train(compose_config(fast_overrides(*overrides), tmp_path / "run"))
    compiled.clear()
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    paths = export(compose_config([f"ckpt_path={ckpt}", "format=torchscript"], tmp_path, "export"))
    assert compiled == []  # rebuilt without torch.compile: the traced net is the plain one
    assert paths["model"].is_file()


def test_the_detectors_refuse_compile_in_one_line(tmp_path):
    with pytest.raises(InstantiationException) as raised:  # Hydra wraps the task's ConfigError
        composed_parts([*TINY_TRAININGS["detector"], "model.compile=true"], tmp_path)
    message = user_error(raised.value)  # what train.py prints
    assert message.startswith("model.compile=true is not supported for the R-CNN detectors")
    assert "\n" not in message


def test_a_classifier_checkpoint_with_the_net_stored_twice_loads(tmp_path):
    _, model = composed_parts(TINY_TRAININGS["classifier"], tmp_path)
    state = model.state_dict()
    second_copy = {f"forward_{key}": value for key, value in state.items() if key[:4] == "net."}
    assert second_copy
    _, fresh = composed_parts([*TINY_TRAININGS["classifier"], "seed=1"], tmp_path)
    assert not all(torch.equal(fresh.state_dict()[key], state[key]) for key in state)
    fresh.load_state_dict({**state, **second_copy})  # strict: no unexpected key is left
    assert all(torch.equal(fresh.state_dict()[key], state[key]) for key in state)
