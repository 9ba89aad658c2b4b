"""benchmarks/gpu_suite.py's dry run: the GPU suite's code at tiny sizes on the CPU. Every figure
of docs/benchmarks.md's GPU section comes out, in the JSON and the markdown, as a number, or as
"n/a on CPU" where only a GPU has it (no timing is asserted: the sizes are tiny)."""

import json
from pathlib import Path

import pytest

from helpers.benchmarks import load_benchmark

NA = "n/a on CPU"


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("gpu_suite")
    suite = load_benchmark("gpu_suite")
    results = suite.main(["dry_run=true", f"out={out}", f"data_dir={mnist_dir}"])
    return suite, results, out


def test_the_dry_run_writes_every_section(dry_run):
    suite, results, out = dry_run
    assert json.loads((out / "gpu_suite.json").read_text())["machine"] == results["machine"]
    for section in suite.SECTIONS:
        assert "error" not in results[section], results[section].get("error")
    markdown = (out / "gpu_suite.md").read_text()
    for title in ("1. ResNet50", "2. NIN", "3. Time to accuracy", "4. DDP", "5. In-memory data"):
        assert f"### {title}" in markdown
    assert "failed:" not in markdown
    machine = results["machine"]
    assert machine["dry_run"] is True and machine["cuda"] == NA and machine["torch"]
    assert {"card", "date", "commit", "cudnn", "lightning"} <= set(machine)


@pytest.mark.parametrize("section", ["resnet50", "nin"])
def test_throughput_each_variant_against_the_plain_loop(dry_run, section):
    suite, results, _ = dry_run
    variants = suite.RESNET_VARIANTS if section == "resnet50" else suite.NIN_VARIANTS
    found = results[section]["variants"]
    assert list(found) == list(variants)
    for row in found.values():
        assert is_number(row["ours"]) and is_number(row["plain"]) and is_number(row["ratio"])
        assert row["met"] == (row["ratio"] >= row["bar"])
        assert row["peak_gib_ours"] == row["peak_gib_plain"] == NA
        assert row["first_losses_max_difference"] == 0.0  # the same maths, step for step


def test_resnet50_goal_doubled_batch_and_nin_profile(dry_run):
    _, results, _ = dry_run
    goal = results["resnet50"]["goal"]
    assert goal["goal"] == 4000 and is_number(goal["images_per_s"]) and goal["met"] is False
    doubled = results["resnet50"]["doubled_batch"]
    assert doubled["batch"] == 2 * results["resnet50"]["batch"] and is_number(doubled["ours"])
    assert results["resnet50"]["limit"] == NA and results["resnet50"]["profile"]["wall_ms_per_step"]
    profile = results["nin"]["profile"]
    assert is_number(profile["host_reads_per_step"]) and is_number(profile["wall_ms_per_step"])
    assert profile["gpu_kernel_ms_per_step"] == profile["gpu_busy_share"] == NA
    assert profile["top_host_ops"] and all("ms/step" in op for op in profile["top_host_ops"])


def test_time_to_accuracy_commands(dry_run):
    _, results, _ = dry_run
    rows = results["accuracy"]
    assert set(rows) == {"nin_mnist", "vae_mnist", "dcgan_mnist"}
    nin = rows["nin_mnist"]
    assert nin["command"].startswith("python train.py data=mnist")
    assert 0 <= nin["value"] <= 1 and nin["target"] == 0.99
    assert nin["whole_s"] > nin["job_s"] >= nin["training_s"] > 0  # start-up, test, training
    assert is_number(rows["vae_mnist"]["value"])
    for name in ("vae_mnist", "dcgan_mnist"):
        assert rows[name]["job_s"] >= rows[name]["training_s"] > 0


def test_ddp_run_layout_and_notes_bn(dry_run):
    _, results, _ = dry_run
    ddp = results["ddp"]
    run = ddp["run"]
    assert "trainer=ddp_cpu" in run["command"] and run["world_size"] == 1
    assert run["model_wrapper"] == "DistributedDataParallel"  # DDP's reducer saw the gradients
    assert is_number(run["images_per_s_per_gpu"]) and is_number(run["ratio_per_gpu"])
    assert run["stride_warning"] is False and run["sync_batchnorm_layers"] == NA
    assert ddp["notes_bn"].startswith("refused: ") and "model.net.norm=batchnorm" in ddp["notes_bn"]
    for found in ddp["layout"].values():  # a CPU's kernels give gradients their weight's strides
        assert found == {"ours": [], "to_memory_format": []}


def test_data_wait_on_and_off_the_device(dry_run):
    _, results, _ = dry_run
    for case in ("mnist", "synthetic"):
        for setting in ("on_device=true", "on_device=false"):
            row = results["data"][case][setting]
            assert is_number(row["data_wait_ms_per_step"]) and is_number(row["step_ms"])
            assert 0 < row["share"] < 1


def docs_with_an_empty_gpu_section(suite, tmp_path, monkeypatch) -> Path:
    """A docs/benchmarks.md stand-in whose GPU section is not run yet; the suite writes it."""
    docs = tmp_path / "benchmarks.md"
    start, end = suite.MARKERS
    docs.write_text(f"# Benchmarks\n\n## 6. GPU\n\n{start}\nnot run yet\n{end}\n\nafter\n")
    monkeypatch.setattr(suite, "DOCS", docs)
    return docs


def test_write_docs_replaces_only_the_gpu_section(dry_run, tmp_path, monkeypatch):
    suite, _, out = dry_run
    docs = docs_with_an_empty_gpu_section(suite, tmp_path, monkeypatch)
    start, end = suite.MARKERS
    suite.write_docs((out / "gpu_suite.md").read_text().strip())
    written = docs.read_text()
    assert "not run yet" not in written and "### 4. DDP" in written
    assert written.startswith("# Benchmarks\n\n## 6. GPU\n\n" + start) and written.endswith(
        "\n\nafter\n"
    )
    suite.write_docs("### second part", append=True)  # a run made in two parts
    both = docs.read_text()
    assert both.index("### 4. DDP") < both.index("### second part") < both.index(end)


@pytest.mark.parametrize(
    ("busy", "doubled", "limit"),
    [(0.95, 3100.0, "the GPU itself"), (0.6, 3600.0, "the batch size"), (0.6, 3050.0, "the host")],
)
def test_what_limits_resnet50_is_read_from_the_same_run(dry_run, busy, doubled, limit):
    suite, _, _ = dry_run
    run = suite.Run(False, suite.Sizes(), "", 256, 512, Path("."))
    result = {
        "goal": {"met": False},
        "profile": {"gpu_busy_share": busy},
        "variants": {"bf16+channels_last": {"ours": 3000.0}},
        "doubled_batch": {"ours": doubled},
    }
    assert suite.limit(run, result).startswith(limit)
    assert suite.limit(run, result | {"goal": {"met": True}}) == "none: the goal is met"


# --- a run that can be taken in one short call (all on the CPU) ------------------------------


def test_a_run_cut_off_keeps_every_figure_measured_before(tmp_path, mnist_dir, monkeypatch):
    """Killed inside its last section (here: the second data row raises), the files on disk
    hold the earlier sections and the row measured before."""
    suite = load_benchmark("gpu_suite")
    from gpu import data as data_section

    measure, calls = data_section.data_wait, []

    def dies_on_the_second(run, case, on_device):
        calls.append(case)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what a time limit's kill leaves: no clean ending
        return measure(run, case, on_device)

    monkeypatch.setattr(data_section, "data_wait", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        suite.main(
            ["dry_run=true", f"out={tmp_path}", f"data_dir={mnist_dir}", "sections=nin,data"]
        )
    saved = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert list(saved["nin"]["variants"]) == list(suite.NIN_VARIANTS)
    assert list(saved["data"]["mnist"]) == ["on_device=true"]
    assert "### 2. NIN" in (tmp_path / "gpu_suite.md").read_text()


def test_a_failing_variant_is_recorded_and_the_section_goes_on(tmp_path, mnist_dir, monkeypatch):
    suite = load_benchmark("gpu_suite")
    from gpu import throughput

    measure = throughput.ours_and_plain

    def no_compiler(run, overrides, warmup, steps, name):
        if "model.compile=true" in overrides:
            raise RuntimeError("InductorError: no C compiler found\nlong traceback")
        return measure(run, overrides, warmup, steps, name)

    monkeypatch.setattr(throughput, "ours_and_plain", no_compiler)
    results = suite.main(["dry_run=true", f"out={tmp_path}", "sections=nin"])
    rows = results["nin"]["variants"]
    assert rows["compile+bf16+channels_last"] == {
        "error": "RuntimeError: InductorError: no C compiler found"
    }
    assert (
        is_number(rows["fp32"]["ours"]) and results["nin"]["best"] != "compile+bf16+channels_last"
    )
    assert "no C compiler found" in (tmp_path / "gpu_suite.md").read_text()


def test_a_spent_time_budget_skips_what_is_left(tmp_path):
    suite = load_benchmark("gpu_suite")
    results = suite.main(["dry_run=true", f"out={tmp_path}", "sections=nin", "time_budget_s=1e-9"])
    assert results["nin"] == {"error": suite.SKIPPED}


def test_timed_steps_are_bounded_by_the_batches_the_data_has(mnist_dir):
    load_benchmark("gpu_suite")
    from gpu.data import steps_the_data_has
    from parity import Stopwatch

    from dlnotes.data.torchvision_sets import MNISTDataModule

    data = MNISTDataModule(data_dir=mnist_dir, download=False, batch_size=128, on_device=False)
    assert steps_the_data_has(data, 100, "mnist") == 4  # 450 training images: 4 batches of 128
    few = MNISTDataModule(data_dir=mnist_dir, download=False, batch_size=512, on_device=False)
    with pytest.raises(RuntimeError, match="1 training batch"):
        steps_the_data_has(few, 100, "mnist")
    never = Stopwatch(seed=0, compare_steps=0, warmup=1, until=100)
    with pytest.raises(RuntimeError, match="timed nothing: training ran 4 steps"):
        never.check(steps_run=4)  # a stopwatch never stopped is an error, not 0 s


def test_mnist_missing_is_one_line_before_anything_runs(tmp_path):
    suite = load_benchmark("gpu_suite")
    with pytest.raises(SystemExit) as stopped:
        suite.main(["dry_run=true", f"out={tmp_path}", f"data_dir={tmp_path}", "sections=data"])
    message = str(stopped.value)
    assert message.startswith("error: MNIST not found in") and "\n" not in message
    assert "train-images-idx3-ubyte" in message and not (tmp_path / "gpu_suite.json").exists()


def test_docs_from_puts_both_parts_into_the_docs(dry_run, tmp_path, monkeypatch):
    suite, _, out = dry_run
    docs = docs_with_an_empty_gpu_section(suite, tmp_path, monkeypatch)
    end = suite.MARKERS[1]
    second = tmp_path / "part2"
    second.mkdir()
    (second / "gpu_suite.md").write_text("### second part\n")
    suite.main([f"docs_from={out},{second}"])
    written = docs.read_text()
    assert "not run yet" not in written
    assert written.index("### 1. ResNet50") < written.index("### second part") < written.index(end)


TITLES = {
    "resnet50": "### 1. ResNet50",
    "nin": "### 2. NIN",
    "accuracy": "### 3. Time to accuracy",
    "ddp": "### 4. DDP",
    "data": "### 5. In-memory data",
}


@pytest.mark.parametrize("section", list(TITLES))
def test_each_section_run_alone_writes_its_part(section, tmp_path, mnist_dir):
    """A call may hold one section only (sections=...): it writes its own part, whole."""
    suite = load_benchmark("gpu_suite")
    args = ["dry_run=true", f"out={tmp_path}", f"data_dir={mnist_dir}", f"sections={section}"]
    results = suite.main(args)
    assert "error" not in results[section], results[section].get("error")
    saved = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert set(saved) & set(TITLES) == {section}
    markdown = (tmp_path / "gpu_suite.md").read_text()
    assert TITLES[section] in markdown and "incomplete" not in markdown
