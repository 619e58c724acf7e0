"""The autoencoder's shapes, config and noise augmentation (elfutils.nn.model, elfutils.nn.noise)."""

from __future__ import annotations

import pytest
import torch

from elfutils.constants import FINGERPRINT_LENGTH, IMAGE_SIZE, LATENT_CHANNELS, LATENT_SIDE
from elfutils.nn.model import ElfAutoencoder, ElfConfig, SubPixelConvTranspose, fold_batchnorm
from elfutils.nn.noise import ERASE_SCALE, add_region_noise

pytestmark = pytest.mark.usefixtures("one_thread")  # one torch thread: see conftest.py


def _binary(n, size, seed=0, channels=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, channels, size, size, generator=g) < 0.05).float()


def test_paper_model_shapes_at_224():
    """The paper's setting: 224 x 224 input -> 7 x 7 x 2 latent -> 98 numbers -> 224 x 224 logits."""
    config = ElfConfig()
    assert (config.image_size, config.latent_channels) == (IMAGE_SIZE, LATENT_CHANNELS)
    assert config.latent_side == LATENT_SIDE
    assert config.fingerprint_length == FINGERPRINT_LENGTH == 98
    torch.manual_seed(0)
    model = ElfAutoencoder(config).eval()
    x = _binary(2, 224)
    with torch.inference_mode():
        z = model.encode(x)
        assert z.shape == (2, 2, 7, 7)
        assert model.decode(z).shape == (2, 1, 224, 224)
        assert model(x).shape == (2, 1, 224, 224)
        assert model.fingerprint(x).shape == (2, 98)


@pytest.mark.parametrize(("backbone", "latent_channels"), [("resnet18", 4), ("resnet34", 1), ("resnet50", 2)])
def test_backbones_and_latent_channels(backbone, latent_channels):
    """Supplementary Note 2's variants build and keep the shape contract (small image to stay fast)."""
    config = ElfConfig(backbone=backbone, latent_channels=latent_channels, image_size=64)
    model = ElfAutoencoder(config).eval()
    with torch.inference_mode():
        z = model.encode(_binary(2, 64))
        assert z.shape == (2, latent_channels, 2, 2)
        assert model.decode(z).shape == (2, 1, 64, 64)
    assert config.fingerprint_length == latent_channels * 4


def test_fingerprint_is_channel_major_flattening():
    model = ElfAutoencoder(ElfConfig(image_size=64)).eval()
    x = _binary(3, 64)
    with torch.inference_mode():
        z, f = model.encode(x), model.fingerprint(x)
    side = 2
    for c in range(2):
        for r in range(side):
            for col in range(side):
                assert torch.equal(f[:, c * side * side + r * side + col], z[:, c, r, col])


def test_one_input_channel_equals_three_redundant_rgb_channels():
    """Why in_channels defaults to 1: a 3-channel stem on 3 equal channels is a 1-channel stem whose kernel is
    the sum of the three."""
    torch.manual_seed(1)
    rgb = ElfAutoencoder(ElfConfig(image_size=32, in_channels=3)).eval()
    mono = ElfAutoencoder(ElfConfig(image_size=32, in_channels=1)).eval()
    state = rgb.state_dict()
    state["encoder.0.weight"] = state["encoder.0.weight"].sum(dim=1, keepdim=True)
    mono.load_state_dict(state)
    x = _binary(4, 32)
    with torch.inference_mode():
        expected = rgb.fingerprint(x.expand(-1, 3, -1, -1))
        torch.testing.assert_close(mono.fingerprint(x), expected, rtol=1e-4, atol=1e-5)


def test_sub_pixel_head_is_a_transposed_convolution():
    """The head equals ConvTranspose2d(kernel 6, stride 2, padding 2) with the weights rearranged by phase:
    output pixel (2i+a, 2j+b) takes input (i+dy, j+dx) through kernel tap (a+2-2dy, b+2-2dx)."""
    torch.manual_seed(0)
    deconv = torch.nn.ConvTranspose2d(8, 1, 6, stride=2, padding=2)
    head = SubPixelConvTranspose(8, 1)
    w = deconv.weight[:, 0]  # (cin, 6, 6)
    with torch.no_grad():
        for a in range(2):
            for b in range(2):
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        head[0].weight[2 * a + b, :, dy + 1, dx + 1] = w[:, a + 2 - 2 * dy, b + 2 - 2 * dx]
        head[0].bias.fill_(deconv.bias.item())
    x = torch.randn(2, 8, 5, 7)
    torch.testing.assert_close(head(x), deconv(x), rtol=1e-5, atol=1e-5)


def test_folded_batchnorm_encoder_gives_the_same_fingerprints():
    torch.manual_seed(2)
    model = ElfAutoencoder(ElfConfig(image_size=64)).train()
    with torch.no_grad():  # a few training-mode passes so the BN running statistics are not the identity
        for seed in range(2):
            model(_binary(4, 64, seed=seed))
    model.eval()
    folded = fold_batchnorm(torch.nn.Sequential(model.encoder, model.to_latent))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.encoder.modules())  # original untouched
    x = _binary(4, 64, seed=9)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x).flatten(1), model.fingerprint(x), rtol=1e-4, atol=1e-5)


def test_config_validation_and_round_trip():
    config = ElfConfig(backbone="resnet34", latent_channels=3, image_size=96, epochs=5)
    assert ElfConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown config field"):
        ElfConfig.from_dict({**config.to_dict(), "dropout": 0.1})
    with pytest.raises(ValueError, match="backbone"):
        ElfConfig(backbone="vgg16")
    with pytest.raises(ValueError, match="multiple of 32"):
        ElfConfig(image_size=100)
    with pytest.raises(ValueError, match="latent_channels"):
        ElfConfig(latent_channels=0)


def test_output_prior_sets_base_rate():
    model = ElfAutoencoder(ElfConfig(image_size=32))
    model.set_output_prior(0.05)
    torch.testing.assert_close(torch.sigmoid(model.head[0].bias), torch.full((4,), 0.05))
    assert not model.head[0].weight.any()


# --- noise augmentation -------------------------------------------------------------------------------------


def test_noise_probability_zero_and_input_untouched():
    x = _binary(8, 32)
    before = x.clone()
    assert torch.equal(add_region_noise(x, 0.0, torch.Generator().manual_seed(0)), x)
    add_region_noise(x, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(x, before)


def test_noise_is_binary_rectangular_seeded_and_half_the_images():
    n, size = 2000, 32
    x = torch.zeros(n, 1, size, size)
    noised = add_region_noise(x, 0.5, torch.Generator().manual_seed(0))
    again = add_region_noise(x, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(noised, again)  # same seed, same noise
    assert set(noised.unique().tolist()) <= {0.0, 1.0}
    touched = noised.flatten(1).any(dim=1)
    assert abs(touched.float().mean().item() - 0.5) < 0.05  # probability 0.5 per image
    # the changed pixels of each image lie in one rectangle of at most the largest erase area (plus rounding)
    ones = noised[:, 0] > 0
    rows, cols = ones.any(dim=2).int(), ones.any(dim=1).int()
    bbox_h = torch.where(rows.any(1), size - rows.flip(1).argmax(1) - rows.argmax(1), 0)
    bbox_w = torch.where(cols.any(1), size - cols.flip(1).argmax(1) - cols.argmax(1), 0)
    assert torch.all(bbox_h * bbox_w <= ERASE_SCALE[1] * size * size + 2 * size)


def test_noise_on_batch_is_per_image():
    """Unlike RandomErasing on a batch tensor, images get different rectangles."""
    x = torch.zeros(16, 1, 32, 32)
    noised = add_region_noise(x, 1.0, torch.Generator().manual_seed(3))
    masks = (noised[:, 0] > 0).flatten(1)
    assert len({tuple(m.nonzero().flatten()[:1].tolist()) for m in masks}) > 1
