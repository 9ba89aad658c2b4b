"""predict.py: a classifier, a segmenter, a detector and a VAE, each trained by train.py, applied
to a folder of new images of other sizes and modes with a broken file among them; each image is
converted as the training data was, and each kind writes its outputs."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from dlnotes.checkpoints.load import load_checkpoint, model_from_checkpoint
from dlnotes.errors import ConfigError
from dlnotes.predict import predict
from dlnotes.prediction.convert import ImageConversion, read_image
from dlnotes.prediction.segment import upsampled_labels
from helpers.compose import compose_config
from helpers.paths import ROOT
from helpers.processes import subprocess_env

READABLE = {  # file: (width, height, mode)
    "gray.png": (20, 20, "L"),
    "photo.jpg": (40, 30, "RGB"),
    "rgba.png": (24, 24, "RGBA"),
    "sixteen.png": (64, 48, "I;16"),
    "sub/palette.png": (30, 50, "P"),
}
BROKEN = "broken.png"


def write_images(folder):
    """The READABLE images (random content, fixed seed) and a file that only starts like a PNG."""
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(folder / "gray.png")
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(folder / "photo.jpg")
    rgba = rng.integers(0, 256, (24, 24, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[12:, :, 3] = 0  # the lower half transparent
    Image.fromarray(rgba).save(folder / "rgba.png")
    ramp = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)  # 0 .. 64491
    Image.fromarray(ramp).save(folder / "sixteen.png")
    colors = Image.fromarray(rng.integers(0, 256, (50, 30, 3), dtype=np.uint8))
    colors.convert("P").save(folder / "sub" / "palette.png")
    (folder / BROKEN).write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image" * 10)
    return folder


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("new_images"))


def run_predict(ckpt, given, out, *extra) -> dict:
    overrides = [f"ckpt_path={ckpt}", f"input={given}", *extra]
    return predict(compose_config(overrides, out, config_name="predict"))


def read_csv(path) -> list[dict]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def assert_inputs_listed(out):
    """inputs.csv: every file, readable ones with their own size and mode, the broken one
    failed with its reason."""
    rows = {row["file"]: row for row in read_csv(out / "inputs.csv")}
    assert set(rows) == {*READABLE, BROKEN}
    assert rows[BROKEN]["status"] == "failed"
    assert rows[BROKEN]["error"].startswith("not a readable image")
    for name, (width, height, mode) in READABLE.items():
        row = rows[name]
        assert (row["status"], row["width"], row["height"], row["mode"]) == (
            "ok",
            str(width),
            str(height),
            mode,
        )


# conversion: as the training data was


def test_16_bit_gray_keeps_its_range_where_pillow_would_clip_it():
    values = np.array([[0, 16384, 32768, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    converted = ImageConversion(1, 1, 4)(image)
    assert converted.flatten().tolist() == pytest.approx([0, 0.25, 0.5, 1], abs=1e-4)
    assert np.asarray(image.convert("L")).tolist() == [[0, 255, 255, 255]]  # what we avoid


def test_transparent_pixels_lie_on_the_background_and_colors_become_luma(tmp_path):
    pixels = np.array([[[255, 0, 0, 255], [255, 0, 0, 0]]], dtype=np.uint8)  # red, transparent
    image = Image.fromarray(pixels)
    black = ImageConversion(1, 1, 2)(image).flatten().tolist()
    white = ImageConversion(1, 1, 2, background=1.0)(image).flatten().tolist()
    red_luma = round(255 * 299 / 1000) / 255  # ITU-R 601-2, as torchvision's Grayscale
    assert black == pytest.approx([red_luma, 0.0], abs=1 / 255)
    assert white == pytest.approx([red_luma, 1.0], abs=1 / 255)
    rgb = ImageConversion(3, 1, 2)(image)
    assert rgb[:, 0, 0].tolist() == pytest.approx([1, 0, 0]) and rgb[:, 0, 1].sum() == 0


def test_any_size_and_mode_becomes_the_model_shape_and_exif_turns_it_upright(tmp_path):
    rng = np.random.default_rng(1)
    photo = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    palette = photo.convert("P")
    convert = ImageConversion(3, 16, 16)
    assert convert(photo).shape == (3, 16, 16)
    assert torch.equal(convert(palette), convert(palette.convert("RGB")))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: shown turned 90° clockwise
    photo.save(tmp_path / "turned.png", exif=exif)
    upright = read_image(tmp_path / "turned.png")
    assert upright.size == (30, 40) and upright.getpixel((29, 0)) == photo.getpixel((0, 0))


# what each kind of model writes


def test_classifier_writes_top_k_with_names_and_a_contact_sheet(
    trained_checkpoint, images, tmp_path
):
    ckpt = trained_checkpoint("classifier")
    run_predict(ckpt, images, tmp_path, "top_k=3")
    rows = read_csv(tmp_path / "predictions.csv")
    assert [row["file"] for row in rows] == sorted(READABLE)
    names = load_checkpoint(ckpt)["dlnotes_config"]["class_names"]
    assert names == [str(digit) for digit in range(10)]
    model, conversion = model_from_checkpoint(ckpt), ImageConversion(1, 16, 16)
    for row in rows:
        probabilities = [float(row[f"probability_{rank}"]) for rank in (1, 2, 3)]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(row[f"name_{r}"] == names[int(row[f"class_{r}"])] for r in (1, 2, 3))
        # the same as the model on the image converted by hand, whatever the batch around it
        image = conversion(read_image(images / row["file"]))
        with torch.no_grad():
            expected = model(image[None]).softmax(1)[0]
        assert probabilities[0] == pytest.approx(float(expected.max()), abs=1e-5)
        assert int(row["class_1"]) == int(expected.argmax())
    sheet = Image.open(tmp_path / "contact_sheet.png")
    assert sheet.width >= 5 * 96 and sheet.height > 96  # five thumbnails with captions
    assert_inputs_listed(tmp_path)


def test_segmenter_writes_palette_masks_at_each_images_own_size(
    trained_checkpoint, images, tmp_path
):
    run_predict(trained_checkpoint("segmenter"), images, tmp_path)
    areas = {row["file"]: row for row in read_csv(tmp_path / "areas.csv")}
    assert set(areas) == set(READABLE)
    for name, (width, height, _) in READABLE.items():
        stem = name.rsplit(".", 1)[0]
        mask = Image.open(tmp_path / "masks" / f"{stem}.png")
        assert mask.mode == "P" and mask.size == (width, height)
        assert mask.getpalette()[:3] == [0, 0, 0]  # background black, as in training pictures
        labels = np.asarray(mask)
        assert labels.max() < 11
        overlay = Image.open(tmp_path / "overlays" / f"{stem}.png")
        assert overlay.mode == "RGB" and overlay.size == (width, height)
        shares = [float(areas[name][c]) for c in ["background", *map(str, range(10))]]
        counts = np.bincount(labels.flatten(), minlength=11) / labels.size
        assert shares == pytest.approx(counts.tolist(), abs=1e-6)
    assert_inputs_listed(tmp_path)


def test_masks_are_the_argmax_of_the_logits_resized_to_the_image():
    logits = torch.randn(11, 8, 8, generator=torch.Generator().manual_seed(0))
    resized = F.interpolate(logits[None], (30, 20), mode="bilinear", align_corners=False)[0]
    assert torch.equal(upsampled_labels(logits, (30, 20)), resized.argmax(0))


def test_detector_writes_coco_results_within_each_image(trained_checkpoint, images, tmp_path):
    run_predict(trained_checkpoint("detector"), images, tmp_path, "score_threshold=0.0")
    described = json.loads((tmp_path / "images.json").read_text())
    sizes = {image["id"]: (image["width"], image["height"]) for image in described["images"]}
    assert {image["file_name"] for image in described["images"]} == set(READABLE)
    assert [c["name"] for c in described["categories"]] == [str(d) for d in range(10)]
    results = json.loads((tmp_path / "detections.json").read_text())
    assert results, "an untrained detector still returns its low-scoring boxes"
    for result in results:
        assert set(result) == {"image_id", "category_id", "bbox", "score"}
        x, y, w, h = result["bbox"]
        width, height = sizes[result["image_id"]]
        assert min(x, y, w, h) >= 0
        assert x + w <= width + 0.01 and y + h <= height + 0.01
        assert 1 <= result["category_id"] <= 10
    for name, (width, height, _) in READABLE.items():
        drawn = Image.open(tmp_path / "drawn" / f"{name.rsplit('.', 1)[0]}.png")
        assert drawn.width % width == 0 and drawn.width // width == drawn.height // height
    assert_inputs_listed(tmp_path)


def test_boxes_are_in_the_pixels_of_an_image_of_another_size(
    trained_checkpoint, monkeypatch, tmp_path
):
    """The detector sees the 128×96 image as 32×32 (its training size); a box it finds at
    x 8–24, y 16–32 there is x 32–96, y 48–96 on the image."""
    found = {"boxes": torch.tensor([[8.0, 16.0, 24.0, 32.0]]), "labels": torch.tensor([3])}
    found["scores"] = torch.tensor([0.9])
    seen = []

    def fixed_detections(self, images, targets=None):
        seen.append(tuple(images.shape))
        return [dict(found) for _ in images]

    monkeypatch.setattr("dlnotes.tasks.detection.DetectionTask.forward", fixed_detections)
    Image.new("L", (128, 96), color=40).save(tmp_path / "wide.png")
    run_predict(trained_checkpoint("detector"), tmp_path / "wide.png", tmp_path / "out")
    (result,) = json.loads((tmp_path / "out" / "detections.json").read_text())
    assert seen == [(1, 1, 32, 32)]
    assert result == {"image_id": 1, "category_id": 3, "bbox": [32, 48, 64, 48], "score": 0.9}


def test_vae_writes_reconstructions_and_latent_means(trained_checkpoint, images, tmp_path):
    ckpt = trained_checkpoint("vae")
    run_predict(ckpt, images, tmp_path)
    latents = torch.load(tmp_path / "latents.pt", weights_only=True)
    assert latents["files"] == sorted(READABLE)
    model, conversion = model_from_checkpoint(ckpt), ImageConversion(1, 16, 16)
    batch = torch.stack([conversion(read_image(images / name)) for name in latents["files"]])
    with torch.no_grad():
        z_mean, _ = model.encoder(batch)
        expected = model(batch)
    assert torch.allclose(latents["z_mean"], z_mean, atol=1e-5)
    reconstructions = torch.load(tmp_path / "reconstructions.pt", weights_only=True)
    assert torch.allclose(reconstructions, expected, atol=1e-5)
    pair = Image.open(tmp_path / "reconstructions" / "sub" / "palette.png")
    assert pair.size[0] > 2 * 16  # the image beside its reconstruction
    assert_inputs_listed(tmp_path)


# what the user is told


def test_a_gan_checkpoint_points_to_sample_py(trained_checkpoint, images, tmp_path):
    checkpoint = load_checkpoint(trained_checkpoint("classifier"))
    checkpoint["dlnotes_config"]["model"] = {"_target_": "dlnotes.tasks.gan.GANTask"}
    torch.save(checkpoint, tmp_path / "gan.ckpt")
    with pytest.raises(ConfigError, match=r"GAN's checkpoint.*python sample.py ckpt_path="):
        run_predict(tmp_path / "gan.ckpt", images, tmp_path)


def test_an_empty_folder_a_missing_path_and_only_broken_files_are_one_line_errors(
    trained_checkpoint, tmp_path
):
    ckpt = trained_checkpoint("classifier")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="is an empty folder: put the images"):
        run_predict(ckpt, tmp_path / "empty", tmp_path / "a")
    with pytest.raises(ConfigError, match="does not exist: give an image file or a folder"):
        run_predict(ckpt, tmp_path / "nowhere", tmp_path / "b")
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ConfigError, match="none of the 1 files .* is a readable image"):
        run_predict(ckpt, tmp_path / "notes.txt", tmp_path / "c")
    assert "failed" in (tmp_path / "c" / "inputs.csv").read_text()


def test_predict_from_the_command_line_reports_the_broken_file_and_goes_on(
    trained_checkpoint, images, tmp_path
):
    command = [
        sys.executable,
        "predict.py",
        f"ckpt_path={trained_checkpoint('classifier')}",
        f"input={images}",
        f"paths.log_dir={tmp_path}",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=subprocess_env()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output = done.stdout + done.stderr
    (line,) = [line for line in output.splitlines() if BROKEN in line]
    assert line.endswith(f"skipped {BROKEN}: not a readable image: cannot identify image file")
    assert "5 images predicted; 1 skipped, listed in inputs.csv" in output
    (run_dir,) = (tmp_path / "predict" / "runs").iterdir()
    assert len(read_csv(run_dir / "predictions.csv")) == len(READABLE)
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["command"].startswith("python predict.py ckpt_path=")
