"""Object detectors (R-CNN family) with torchvision's API: losses in train mode, boxes in eval."""
