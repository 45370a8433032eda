"""Classifiers: model registry, training loop, checkpoint loading."""

from .models import MODELS, Classifier, create_model
from .train import PRESETS, TrainConfig, load_model, soft_cross_entropy, train_classifier

__all__ = ["MODELS", "Classifier", "create_model", "PRESETS", "TrainConfig", "load_model",
           "soft_cross_entropy", "train_classifier"]
