"""Small surgery on torchvision classifiers: channel count and stem stride.

torchvision builds every ImageNet network for 3-channel 224-pixel input. MedLearn
feeds 1- or 3-channel images of 32-128 pixels, so the first convolution is rebuilt
with the right ``in_channels`` (and, for small inputs, a smaller stride) while the
rest of the network is torchvision's own code.
"""

from __future__ import annotations

from torch import nn

SMALL_INPUT = 64  # inputs up to this side length get a gentler stem


def is_small(input_size: int | None, limit: int = SMALL_INPUT) -> bool:
    """True when ``input_size`` is known and at most ``limit`` pixels."""
    return input_size is not None and input_size <= limit


def rebuild_conv(conv: nn.Conv2d, in_channels: int, *, kernel_size: int | None = None,
                 stride: int | None = None, padding: int | None = None) -> nn.Conv2d:
    """A fresh ``nn.Conv2d`` like ``conv`` but with other input channels / kernel / stride.

    Returns ``conv`` itself when nothing changes, so torchvision's layer (and any
    ImageNet weights loaded into it later) stays as it is.
    """
    k = kernel_size or conv.kernel_size[0]
    s = stride or conv.stride[0]
    p = conv.padding[0] if padding is None else padding
    if (in_channels, k, s, p) == (conv.in_channels, conv.kernel_size[0], conv.stride[0], conv.padding[0]):
        return conv
    return nn.Conv2d(in_channels, conv.out_channels, k, stride=s, padding=p, bias=conv.bias is not None)


def mlp_head(in_features: int, hidden: int, num_classes: int, dropout: float,
             dropout_first: bool) -> nn.Sequential:
    """AlexNet/VGG-style head: two hidden fully connected layers with ReLU and dropout.

    AlexNet puts dropout before each hidden layer, VGG after; with ``dropout_first``
    chosen accordingly, layer indices match torchvision's so ImageNet weights load by name.
    """
    def hidden_layer(n_in: int) -> list[nn.Module]:
        layers = [nn.Linear(n_in, hidden), nn.ReLU(inplace=True)]
        return [nn.Dropout(dropout), *layers] if dropout_first else [*layers, nn.Dropout(dropout)]

    return nn.Sequential(*hidden_layer(in_features), *hidden_layer(hidden), nn.Linear(hidden, num_classes))


def materialise(model: nn.Module) -> nn.Module:
    """Give real, freshly initialised tensors to layers built on the ``meta`` device.

    AlexNet's and VGG's constructors always allocate the 4096-wide ImageNet head
    (60-120M parameters, seconds of CPU to initialise) that MedLearn replaces at
    once; building them under ``torch.device("meta")`` skips that cost. Layers kept
    from torchvision get PyTorch's default initialisation, which is what AlexNet uses.
    """
    for module in model.modules():
        if any(t.is_meta for t in [*module.parameters(recurse=False), *module.buffers(recurse=False)]):
            module.to_empty(device="cpu", recurse=False)
            module.reset_parameters()
    return model
