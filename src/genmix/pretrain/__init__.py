"""Pretrained models genmix builds itself from public data (never from the target's source)."""
