"""Helpers of the DataLoader, where PyTorch keeps them (``torch.utils.data._utils.collate``)."""

from . import collate

__all__ = ["collate"]
