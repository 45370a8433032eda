import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data" / "medmnist"


def data_root() -> Path:
    return Path(os.environ.get("GENMIX_DATA_ROOT", DEFAULT_ROOT))


@pytest.fixture
def medmnist_root():
    """Folder with the shared MedMNIST files. Missing files fail under CI=true, else skip."""
    def need(flag: str) -> Path:
        root = data_root()
        if (root / "medmnist").is_dir():
            root = root / "medmnist"
        if not (root / f"{flag}.npz").is_file():
            msg = f"{root / (flag + '.npz')} missing (set GENMIX_DATA_ROOT)"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(msg)
            pytest.skip(msg)
        return root
    return need


@pytest.fixture(autouse=True)
def _threads():
    import torch

    torch.set_num_threads(2)
    yield
