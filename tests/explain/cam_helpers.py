"""Tiny hand-built networks for the explanation tests (no training needed)."""

import numpy as np
import torch
from torch import nn


class BrightnessClassifier(nn.Module):
    """Class 1 = 'bright spot present': conv features proportional to local brightness."""

    def __init__(self, dims=2):
        super().__init__()
        Conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.features = nn.Sequential(Conv(1, 4, 3, padding=1), nn.ReLU(), Conv(4, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool3d(1)
        self.head = nn.Linear(4, 2)
        with torch.no_grad():
            for conv in (self.features[0], self.features[2]):
                conv.weight.fill_(1.0 / conv.weight[0].numel())
                conv.bias.fill_(0.0)
            self.head.weight.copy_(torch.tensor([[-1.0] * 4, [1.0] * 4]))
            self.head.bias.fill_(0.0)

    def forward(self, x):
        return self.head(self.pool(self.features(x)).flatten(1))


class TinySegmenter(nn.Module):
    """Three classes; bright pixels become class 1, very bright class 2 (fixed weights)."""

    def __init__(self, dims=2):
        super().__init__()
        Conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.body = nn.Sequential(Conv(1, 6, 3, padding=1), nn.ReLU(), Conv(6, 6, 3, padding=1), nn.ReLU())
        self.head = Conv(6, 3, 1)
        torch.manual_seed(0)
        with torch.no_grad():
            for conv in (self.body[0], self.body[2]):
                conv.weight.normal_(0.2, 0.05)
                conv.bias.zero_()
            self.head.weight.zero_()
            self.head.weight[:, :, ...] = torch.tensor([[-1.0], [0.5], [0.8]]).view(3, 1, *([1] * dims)) / 6
            self.head.bias.copy_(torch.tensor([0.5, 0.0, -0.5]))

    def forward(self, x):
        return self.head(self.body(x))


def blob_image(size=32, centre=(10, 20), radius=4, dims=2, seed=0):
    """A noisy dark image with one bright disc (ball in 3D); returns (tensor (1,1,*S), lesion mask)."""
    rng = np.random.default_rng(seed)
    shape = (size,) * dims
    grid = np.indices(shape)
    c = centre if len(centre) == dims else (size // 2,) * dims
    r2 = sum((g - ci) ** 2 for g, ci in zip(grid, c))
    lesion = r2 <= radius**2
    img = 0.05 * rng.random(shape) + 0.9 * lesion
    return torch.tensor(img, dtype=torch.float32)[None, None], lesion


def all_hooks(model):
    return [
        h
        for m in model.modules()
        for h in (*m._forward_hooks.values(), *m._forward_pre_hooks.values(), *m._backward_hooks.values())
    ]
