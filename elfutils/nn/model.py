"""The elf autoencoder: a ResNet encoder down to a 7 x 7 x 2 latent, and its transposed mirror as decoder.

Paper, Methods "Network training and fingerprint": "We used the first 16 layers of ResNet18 as an encoder and
'transposed' it by replacing convolutions with deconvolutions to obtain the decoder. The resulting network is
fully convolutional and features skip connections and batch normalization layers". The decoder design follows
the reference the paper cites for it (Horizon2333, "imagenet-autoencoder"): each encoder stage is mirrored by
a stage of residual blocks whose last block doubles the resolution with a transposed convolution.

Shapes for the paper's setting (224 input, resnet18, 2 latent channels); N = batch:

    image   (N, 1, 224, 224)  values 0/1
    trunk   (N, 512, 7, 7)    torchvision ResNet18 stem + layer1..layer4 (2048 channels for resnet50)
    latent  (N, 2, 7, 7)      1x1 conv projection; flattened -> the 98-number fingerprint
    logits  (N, 1, 224, 224)  decoder output before the sigmoid (the loss is BCE-with-logits)
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models import resnet

from elfutils.constants import BACKBONE, EPOCHS, IMAGE_SIZE, LATENT_CHANNELS, NOISE_PROBABILITY, SEED

# backbone -> (residual block type, blocks per stage); torchvision's own layouts
BACKBONES = {
    "resnet18": (resnet.BasicBlock, (2, 2, 2, 2)),
    "resnet34": (resnet.BasicBlock, (3, 4, 6, 3)),
    "resnet50": (resnet.Bottleneck, (3, 4, 6, 3)),
}
DOWNSAMPLING = 32  # stem conv /2, max-pool /2, layer2..layer4 /2 each: 224 -> 7
# What a config (often read from a file someone else wrote) may ask for: beyond these a model would not fit in
# memory or is no elf model (a 32000 px card would make every command allocate gigabytes before failing).
CONFIG_BOUNDS = {"image_size": (DOWNSAMPLING, 2048), "in_channels": (1, 4), "latent_channels": (1, 512),
                 "epochs": (1, 100_000), "batch_size": (1, 65_536)}


@dataclass(frozen=True)
class ElfConfig:
    """Everything that defines a model and its training run. Defaults are the paper's where it gives them.

    The paper does not state batch size, optimiser, learning rate or validation split; ours are marked below.
    """

    backbone: str = BACKBONE  # paper's choice; resnet34/resnet50 for Supplementary Note 2's comparison
    image_size: int = IMAGE_SIZE  # pixels per side; must be a multiple of 32. Tests use small sizes.
    # The paper feeds 3 identical RGB channels of a black-and-white image. One channel carries the same
    # information; a 3-channel stem is exactly a 1-channel stem whose kernel is the sum of the three, so
    # nothing is lost and the first convolution is 3x cheaper.
    in_channels: int = 1
    latent_channels: int = LATENT_CHANNELS  # 7 x 7 x 2 = 98-number fingerprint
    noise_probability: float = NOISE_PROBABILITY  # chance per training image of a noised rectangle
    epochs: int = EPOCHS
    # ours: on a CPU an epoch costs the same at 16 or 32, and 16 gives twice the optimiser steps per epoch
    # (lower loss after a fixed number of epochs in a 10-epoch one-cycle study on synthetic bands at 64 px)
    batch_size: int = 16
    learning_rate: float = 2e-3  # ours: one-cycle peak for AdamW; 5e-3 destabilised BN statistics early on
    weight_decay: float = 1e-4  # ours
    schedule: str = "onecycle"  # ours: "onecycle" (warm-up + cosine decay) or "constant"
    warmup_fraction: float = 0.15  # share of steps spent warming up in "onecycle"
    validation_fraction: float = 0.1  # ours
    seed: int = SEED

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {sorted(BACKBONES)}, not {self.backbone!r}")
        if self.image_size % DOWNSAMPLING or self.image_size < DOWNSAMPLING:
            raise ValueError(
                f"image_size must be a positive multiple of {DOWNSAMPLING}, not {self.image_size}"
            )
        if self.schedule not in ("onecycle", "constant"):
            raise ValueError(f"schedule must be 'onecycle' or 'constant', not {self.schedule!r}")
        if not 0 <= self.noise_probability <= 1 or not 0 <= self.validation_fraction < 1:
            raise ValueError("noise_probability must lie in [0, 1] and validation_fraction in [0, 1)")
        for name, (low, high) in CONFIG_BOUNDS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}")

    @property
    def latent_side(self) -> int:
        """Latent grid side: 7 for a 224 image."""
        return self.image_size // DOWNSAMPLING

    @property
    def fingerprint_length(self) -> int:
        """Flattened latent size: 98 for the paper's model."""
        return self.latent_channels * self.latent_side**2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ElfConfig:
        """Inverse of to_dict; unknown keys are an error (they mean a different code version)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config field(s): {sorted(unknown)}")
        return cls(**data)


def _conv3x3(cin: int, cout: int, upsample: bool) -> nn.Module:
    """3x3 convolution keeping H, W; or, with ``upsample``, a stride-2 transposed one doubling them."""
    if upsample:
        return nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=False)
    return nn.Conv2d(cin, cout, 3, padding=1, bias=False)


class DecoderBlock(nn.Module):
    """Transposed mirror of a torchvision residual block (BasicBlock, or Bottleneck for resnet50).

    (N, cin, H, W) -> (N, cout, H, W), or (N, cout, 2H, 2W) when ``upsample``: the 3x3 convolution is then a
    stride-2 transposed convolution, as the first encoder block of a stage holds a stride-2 convolution.
    """

    def __init__(self, cin: int, cout: int, upsample: bool, bottleneck: bool):
        super().__init__()
        if bottleneck:  # 1x1 reduce to cin/4, 3x3 (up), 1x1 to cout
            width = cin // 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                _conv3x3(width, width, upsample), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout),
            )  # fmt: skip
        else:  # 3x3, 3x3 (up)
            self.body = nn.Sequential(
                nn.Conv2d(cin, cin, 3, padding=1, bias=False), nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
                _conv3x3(cin, cout, upsample), nn.BatchNorm2d(cout),
            )  # fmt: skip
        if upsample or cin != cout:  # 1x1 (transposed) skip projection, as torchvision's downsample
            stride = 2 if upsample else 1
            self.skip = nn.Sequential(
                nn.ConvTranspose2d(cin, cout, 1, stride, output_padding=stride - 1, bias=False),
                nn.BatchNorm2d(cout),
            )
        else:
            self.skip = nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.skip(x))


class SubPixelConvTranspose(nn.Sequential):
    """Stride-2 transposed convolution with a 6x6 kernel and padding 2: (N, cin, H, W) -> (N, cout, 2H, 2W).

    Computed in its sub-pixel form (Shi et al. 2016, "Is the deconvolution layer the same as a convolutional
    layer?"): a 3x3 convolution to 4 * cout channels, one per output-pixel phase, then PixelShuffle(2). The
    two are the same function (tests/test_model.py checks it), except that each phase gets its own bias;
    oneDNN runs this form ~2x faster than a deconvolution with a single output channel.
    """

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, 4 * cout, 3, padding=1), nn.PixelShuffle(2))


class ElfAutoencoder(nn.Module):
    """ResNet convolutional autoencoder with a (latent_channels x side x side) bottleneck."""

    def __init__(self, config: ElfConfig | None = None):
        super().__init__()
        self.config = config = config or ElfConfig()
        block, layers = BACKBONES[config.backbone]
        bottleneck = block is resnet.Bottleneck

        # Encoder: torchvision's ResNet trunk, randomly initialised (weights=None: nothing is downloaded),
        # without its average pool and classifier. The stem takes config.in_channels instead of RGB.
        trunk = resnet.ResNet(block, list(layers))
        trunk.conv1 = nn.Conv2d(config.in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(trunk.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.encoder = nn.Sequential(
            trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool,  # (N,64,S/4,S/4)
            trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4,  # (N,512|2048,S/32,S/32)
        )  # fmt: skip
        widths = [64, *(64 * 2**i * block.expansion for i in range(4))]  # resnet18: 64,64,128,256,512
        # 1x1 projection to the latent: a linear map, so the fingerprint is not clipped by a ReLU.
        self.to_latent = nn.Conv2d(widths[-1], config.latent_channels, 1)  # (N,C,S/32,S/32)

        # Decoder: the mirror image. from_latent restores the trunk width; then one stage per encoder stage
        # in reverse, each ending in a x2 transposed convolution (the fourth one mirrors the max-pool); the
        # head, a 6x6 stride-2 transposed convolution, mirrors the 7x7 stride-2 stem (an even kernel tiles the
        # output evenly) and returns one logit per pixel.
        self.from_latent = nn.Sequential(
            nn.Conv2d(config.latent_channels, widths[-1], 1, bias=False),
            nn.BatchNorm2d(widths[-1]),
            nn.ReLU(inplace=True),
        )
        stages = []
        for stage in reversed(range(4)):  # resnet18: 512->256, 256->128, 128->64, 64->64
            cin, cout = widths[stage + 1], widths[stage]
            blocks = [DecoderBlock(cin, cin, False, bottleneck) for _ in range(layers[stage] - 1)]
            blocks.append(DecoderBlock(cin, cout, True, bottleneck))
            stages.append(nn.Sequential(*blocks))
        self.decoder = nn.Sequential(*stages)  # (N,64,S/2,S/2)
        self.head = SubPixelConvTranspose(64, 1)  # (N,1,S,S)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, S, S) in [0, 1] -> latent (N, latent_channels, S/32, S/32)."""
        return self.to_latent(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent (N, latent_channels, S/32, S/32) -> logits (N, 1, S, S); sigmoid gives pixel
        probabilities."""
        return self.head(self.decoder(self.from_latent(z)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, S, S) -> reconstruction logits (N, 1, S, S)."""
        return self.decode(self.encode(x))

    def fingerprint(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, S, S) -> (N, fingerprint_length): the latent flattened channel-major, so index
        c * side**2 + row * side + col is channel c at (row, col) (the paper's "channel 2" is c = 1)."""
        return self.encode(x).flatten(1)

    def set_output_prior(self, pixel_fraction: float) -> None:
        """Make the untrained model predict every pixel at the data's mean pixel value.

        The head's bias starts at logit(pixel_fraction) and its weights at zero (they still get gradients, and
        the layers below them from the second step on). Band images are mostly background: without this the
        first epoch is spent learning that base rate from a random, far-off start (BCE ~0.7 instead of ~0.3).
        """
        p = min(max(float(pixel_fraction), 1e-4), 1 - 1e-4)
        with torch.no_grad():
            self.head[0].weight.zero_()
            self.head[0].bias.fill_(float(torch.logit(torch.tensor(p))))


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """A copy of ``module`` for inference with every BatchNorm that follows a convolution folded into it.

    In eval mode BN is an affine map per channel, so conv -> BN equals one conv with rescaled weights and a
    bias: one pass over the activations less per layer (same outputs up to float rounding). Handles
    torchvision's blocks (conv1/bn1, conv2/bn2, conv3/bn3) and Sequential runs (Conv2d, BatchNorm2d).
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    module = copy.deepcopy(module).eval()
    for parent in module.modules():
        children = dict(parent.named_children())
        for name, child in children.items():
            conv_name = _conv_before(name)
            conv = children.get(conv_name) if conv_name else None
            if isinstance(child, nn.BatchNorm2d) and type(conv) is nn.Conv2d:
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, child))
                setattr(parent, name, nn.Identity())
    return module


def _conv_before(name: str) -> str | None:
    """The sibling a BN named ``name`` normalises: bn2 -> conv2 (torchvision blocks), "5" -> "4"
    (Sequential)."""
    if name.startswith("bn"):
        return "conv" + name[2:]
    if name.isdigit() and int(name) > 0:
        return str(int(name) - 1)
    return None


def image_batch(images: torch.Tensor, in_channels: int = 1) -> torch.Tensor:
    """uint8/bool/float (N, S, S) 0/1 images -> float (N, in_channels, S, S) network input."""
    x = images.to(torch.float32).unsqueeze(1)
    return x.expand(-1, in_channels, -1, -1) if in_channels > 1 else x
