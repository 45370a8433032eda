"""genmix: generative + mixture data augmentation for medical image classification."""

__version__ = "0.1.0"
