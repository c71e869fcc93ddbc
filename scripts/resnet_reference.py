"""PyTorch reference ResNet-18/34/50 for invprop, plus the deterministic weight formula.

This module is imported by scripts/make_fixtures.py, scripts/check_checkpoint.py and
bench/torch_step.py; it produces nothing by itself. Running it directly prints the parameter
counts of a few configurations and, when torchvision is importable, checks that our state_dict
names and shapes are exactly torchvision's:

    python3 scripts/resnet_reference.py

The model follows the torchvision layout (state_dict names `conv1.weight`, `bn1.running_mean`,
`layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `fc.weight`, ...) so that checkpoints
written by invprop load into it with `load_state_dict(strict=True)`. Options beyond torchvision:

- stem:        "cifar"    conv1 = 3x3 stride 1 padding 1, no max-pool
               "imagenet" conv1 = 7x7 stride 2 padding 3, then max-pool 3x3 stride 2 padding 1
- in_channels: image channels (1 for grey images, 3 for colour)
- width:       multiplier of the stage widths; stage k (k = 0..3) has round(64 * 2^k * width)
               "planes" (rounded half away from zero, at least 1); the stem has the width of stage 0
- head:        "linear"  fc = Linear(feature, out_dim)                      -> fc.weight, fc.bias
               "mlp"     fc = Linear(feature, feature), ReLU, Linear(feature, out_dim)
                                                  -> fc.0.weight, fc.0.bias, fc.2.weight, fc.2.bias
               "none"    no head; the model returns the pooled feature
  where feature = planes of the last stage * expansion (1 for ResNet-18/34, 4 for ResNet-50).

Default initialization matches torchvision: convolutions Kaiming-normal with fan_out and ReLU
gain, batch-norm weight 1 and bias 0, linear layers PyTorch's default (uniform). For reference
tests use `apply_formula_weights` instead, which sets every parameter from a closed-form formula
the Swift side reproduces (see docs/fixtures.md).
"""

import math

import numpy as np
import torch
import torch.nn as nn

# Blocks per stage and the block type for each supported depth.
ARCHS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}


def conv3x3(cin, cout, stride=1):
    """3x3 convolution with padding 1 and no bias (batch norm follows)."""
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    """1x1 convolution without bias, used in bottlenecks and projection shortcuts."""
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34).

    x: [N, cin, H, W] -> [N, planes, H/stride, W/stride]. The stride sits on the first conv.
    """

    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        # Projection shortcut when the shape changes; named `downsample` with children 0 (conv)
        # and 1 (bn) so that the state_dict names are `downsample.0.weight`, `downsample.1.*`.
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(conv1x1(cin, planes, stride), nn.BatchNorm2d(planes))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4) with a residual connection (ResNet-50).

    x: [N, cin, H, W] -> [N, 4*planes, H/stride, W/stride]. The stride sits on the 3x3 conv
    (the "ResNet v1.5" placement torchvision uses).
    """

    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


def stage_planes(width):
    """Planes of the four stages for a width multiplier, rounded half away from zero."""
    return [max(1, int(math.floor(64 * (2 ** k) * width + 0.5))) for k in range(4)]


class ResNet(nn.Module):
    """ResNet with a CIFAR or ImageNet stem, any input channels, a width multiplier and a head.

    x: [N, in_channels, H, W] -> [N, out_dim] (or [N, feature] with head "none").
    """

    def __init__(self, arch="resnet18", stem="cifar", in_channels=3, width=1.0, head="linear",
                 out_dim=128):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown arch {arch!r}; expected one of {sorted(ARCHS)}")
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"unknown stem {stem!r}; expected 'cifar' or 'imagenet'")
        if head not in ("linear", "mlp", "none"):
            raise ValueError(f"unknown head {head!r}; expected 'linear', 'mlp' or 'none'")
        kind, depths = ARCHS[arch]
        block = BasicBlock if kind == "basic" else Bottleneck
        planes = stage_planes(width)

        if stem == "cifar":
            self.conv1 = nn.Conv2d(in_channels, planes[0], kernel_size=3, stride=1, padding=1,
                                   bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, planes[0], kernel_size=7, stride=2, padding=3,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = (nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if stem == "imagenet"
                        else nn.Identity())

        cin = planes[0]
        for k in range(4):
            blocks = []
            for j in range(depths[k]):
                stride = 2 if (k > 0 and j == 0) else 1
                blocks.append(block(cin, planes[k], stride))
                cin = planes[k] * block.expansion
            setattr(self, f"layer{k + 1}", nn.Sequential(*blocks))
        self.feature_dim = cin
        self.avgpool = nn.AdaptiveAvgPool2d(1)

        if head == "linear":
            self.fc = nn.Linear(cin, out_dim)
        elif head == "mlp":
            self.fc = nn.Sequential(nn.Linear(cin, cin), nn.ReLU(inplace=True),
                                    nn.Linear(cin, out_dim))
        else:
            self.fc = None  # no parameters, so no `fc.*` names in the state_dict

        self._init_like_torchvision()

    def _init_like_torchvision(self):
        # Linear layers keep PyTorch's default initialization (done by nn.Linear itself).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x):
        """Backbone: [N, C, H, W] -> pooled feature [N, feature_dim]."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        f = self.features(x)
        return f if self.fc is None else self.fc(f)


# ---------------------------------------------------------------------------------------------
# Deterministic weights (specified in docs/fixtures.md; keep the two in step).
# ---------------------------------------------------------------------------------------------

def splitmix64(x):
    """SplitMix64 finalizer on a numpy uint64 array (all arithmetic wraps modulo 2^64)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def formula_uniform(p, n):
    """u[i] for i = 0..n-1 of parameter p: float64 values in (-1, 1), exactly reproducible.

    key = p * 2^32 + i;  h = splitmix64(key);  u = ((h >> 40) + 0.5) / 2^23 - 1
    (h >> 40 is the top 24 bits, so every step is exact in float64.)
    """
    keys = (np.uint64(p) << np.uint64(32)) + np.arange(n, dtype=np.uint64)
    top24 = (splitmix64(keys) >> np.uint64(40)).astype(np.float64)
    return (top24 + 0.5) / 8388608.0 - 1.0


def formula_values(kind, p, n, fan_in=None):
    """The n values of the parameter at position p (0-based, named_parameters order), float32.

    With u = formula_uniform(p, n), computed in float64 as written and rounded to float32 once:
      weight of conv / linear  sqrt(6 / fan_in) * u     (uniform, variance 2 / fan_in: Kaiming)
      bias of conv / linear    0.05 * u
      batch-norm weight        1 + 0.1 * u
      batch-norm bias          0.1 * u
    """
    u = formula_uniform(p, n)
    if kind == "weight":
        v = math.sqrt(6.0 / fan_in) * u
    elif kind == "bias":
        v = 0.05 * u
    elif kind == "bn_weight":
        v = 1.0 + 0.1 * u
    elif kind == "bn_bias":
        v = 0.1 * u
    else:
        raise ValueError(kind)
    return torch.from_numpy(v.astype(np.float32))


@torch.no_grad()
def apply_formula_weights(model):
    """Overwrite every parameter of `model` with the formula; reset the batch-norm buffers.

    Parameters are numbered p = 0, 1, 2, ... in `model.named_parameters()` order (buffers are
    not numbered). fan_in of a conv weight [O, I, kH, kW] is I*kH*kW; of a linear weight [O, I]
    it is I. Running mean 0, running variance 1, num_batches_tracked 0.
    """
    owners = {}
    for mname, m in model.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            owners[f"{mname}.{pname}" if mname else pname] = m
    for p, (name, param) in enumerate(model.named_parameters()):
        m = owners[name]
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(m, nn.BatchNorm2d):
            kind = "bn_weight" if leaf == "weight" else "bn_bias"
            fan_in = None
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            kind = "weight" if leaf == "weight" else "bias"
            fan_in = param[0].numel() if leaf == "weight" else None
        else:
            raise TypeError(f"no formula for parameter {name} of {type(m).__name__}")
        values = formula_values(kind, p, param.numel(), fan_in)
        param.copy_(values.view_as(param).to(param.dtype))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.zero_()
            m.running_var.fill_(1.0)
            m.num_batches_tracked.zero_()
    return model


def _compare_with_torchvision():
    """Checks names and shapes against torchvision's resnet18/34/50 (ImageNet stem, 3 channels)."""
    try:
        import torchvision.models as tvm
    except Exception as e:  # torchvision is optional
        print(f"torchvision not importable ({type(e).__name__}); name check skipped")
        return
    for arch in ARCHS:
        ours = ResNet(arch, stem="imagenet", in_channels=3, width=1.0, head="linear",
                      out_dim=1000).state_dict()
        theirs = getattr(tvm, arch)().state_dict()
        assert list(ours) == list(theirs), f"{arch}: state_dict names or order differ"
        for k in ours:
            assert ours[k].shape == theirs[k].shape, f"{arch}: {k} {ours[k].shape} vs {theirs[k].shape}"
            assert ours[k].dtype == theirs[k].dtype, f"{arch}: {k} dtype differs"
        print(f"{arch}: {len(ours)} state_dict entries match torchvision (names, order, shapes)")


if __name__ == "__main__":
    for cfg in [("resnet18", "cifar", 3, 1.0, "linear"), ("resnet18", "imagenet", 1, 0.5, "mlp"),
                ("resnet34", "cifar", 3, 1.0, "none"), ("resnet50", "imagenet", 3, 0.25, "mlp")]:
        m = ResNet(*cfg)
        n = sum(t.numel() for t in m.parameters())
        print(f"{cfg}: {n:,} parameters, feature {m.feature_dim}")
    _compare_with_torchvision()
