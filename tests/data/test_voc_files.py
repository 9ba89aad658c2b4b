"""What the two Pascal VOC datamodules share (dlnotes/data/voc_files.py): a missing VOC folder is
a one-line error naming the files each one needs, with or without a download (nothing downloads:
the network is one that fails)."""

import pytest

from dlnotes.data.voc import VOCSegmentationDataModule
from dlnotes.data.voc_detection import VOCDetectionDataModule
from dlnotes.errors import ConfigError

NEEDS = {  # the datamodule, and a folder and the split list its error names
    "segmentation": (VOCSegmentationDataModule, "JPEGImages/", "ImageSets/Segmentation/train.txt"),
    "detection": (VOCDetectionDataModule, "Annotations/", "ImageSets/Main/train.txt"),
}


@pytest.mark.parametrize("kind", NEEDS)
@pytest.mark.parametrize("download", [False, True], ids=["no-download", "download-offline"])
def test_missing_folder_gives_one_line_error(tmp_path, offline, download, kind):
    datamodule, needed_folder, split_list = NEEDS[kind]
    module = datamodule(data_dir=str(tmp_path / "data"), download=download)
    with pytest.raises(ConfigError) as caught:
        module.prepare_data()
    message = str(caught.value)
    folder = tmp_path / "data" / "VOCdevkit" / "VOC2012"
    assert "\n" not in message and f"Pascal VOC 2012 not found in {folder} " in message
    assert needed_folder in message and split_list in message
    assert "data.download=true" in message and "data.data_dir=" in message
    assert bool(offline) == download and ("download failed" in message) == download
    with pytest.raises(ConfigError, match="not found in .*VOC2012"):
        module.setup()
