"""Pretrained models built from public data."""
