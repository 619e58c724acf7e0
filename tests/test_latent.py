"""elfutils.nn.latent: reconstruction, seeded training noise and latent walks (Fig. 1, Fig. 6) on a tiny
untrained model (64 px images -> a 2 x 2 x 2 latent), so every test runs in well under a second."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elfutils.constants import LATENT_WALK_SPECS
from elfutils.nn import latent
from elfutils.nn.model import ElfAutoencoder, ElfConfig

SIZE = 64  # latent side 2


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = ElfAutoencoder(ElfConfig(image_size=SIZE, latent_channels=2))
    return net.eval()


@pytest.fixture(scope="module")
def image():
    img = np.zeros((SIZE, SIZE), np.uint8)
    img[20:22, :] = 1  # a flat band
    img[np.arange(SIZE), np.arange(SIZE)] = 1  # a dispersive one
    return img


def test_encode_decode_shapes(model, image):
    z = latent.encode_image(model, image)
    assert z.shape == (2, 2, 2) and z.dtype == np.float32
    out = latent.decode_latents(model, z)
    assert out.shape == (1, SIZE, SIZE)
    assert (out >= 0).all() and (out <= 1).all()
    assert latent.reconstruct(model, image).shape == (SIZE, SIZE)


def test_encoding_matches_the_fingerprint_of_training_encode_images(model, image):
    from elfutils.nn.training import encode_images

    fingerprint = encode_images(model, image[None])[0]
    np.testing.assert_allclose(latent.encode_image(model, image).ravel(), fingerprint, rtol=1e-4, atol=1e-5)


def test_latent_walk_shapes_and_zero_delta_is_the_reconstruction(model, image):
    walk = latent.latent_walk(model, image, channel=1, position=(1, 0), deltas=[0.0, 0.5, 3.0])
    assert walk.shape == (3, SIZE, SIZE) and walk.dtype == np.float32
    np.testing.assert_allclose(walk[0], latent.reconstruct(model, image), atol=1e-6)


def test_nonzero_delta_changes_the_output(model, image):
    walk = latent.latent_walk(model, image, 0, (0, 1), [0.0, 5.0])
    assert np.abs(walk[1] - walk[0]).max() > 1e-4


def test_latent_walk_grid_follows_the_paper_specs(model, image):
    big = ElfAutoencoder(ElfConfig(image_size=224)).eval()  # the paper's positions need the 7 x 7 grid
    img = np.zeros((224, 224), np.uint8)
    img[100:102] = 1
    walks = latent.latent_walk_grid(big, img, steps=3)
    assert [w.position for w in walks] == [pos for pos, _ in LATENT_WALK_SPECS]
    for w, (_, (low, high)) in zip(walks, LATENT_WALK_SPECS, strict=True):
        assert w.channel == 1
        np.testing.assert_allclose(w.deltas, [0.0, low, (low + high) / 2, high])
        assert w.images.shape == (4, 224, 224)
        assert w.differences.shape == (4, 224, 224) and np.abs(w.differences[0]).max() == 0
        assert w.changed_fraction.shape == (4,) and w.changed_fraction[0] == 0


def test_walk_deltas_start_at_zero():
    np.testing.assert_allclose(latent.walk_deltas(0.25, 1.1, 2), [0.0, 0.25, 1.1])
    with pytest.raises(ValueError, match="steps must be >= 1"):
        latent.walk_deltas(0.5, 0.9, 0)


@pytest.mark.parametrize("channel", [2, -1, 1.0, True])
def test_invalid_channel_is_rejected(model, image, channel):
    with pytest.raises(ValueError, match=r"channel must be an integer in 0\.\.1 .*2 channels"):
        latent.latent_walk(model, image, channel, (0, 0), [0.1])


@pytest.mark.parametrize("position", [(2, 0), (0, 2), (-1, 0)])
def test_position_outside_the_grid_is_rejected(model, image, position):
    with pytest.raises(ValueError, match=r"outside the 2 x 2 latent grid \(row and column in 0\.\.1\)"):
        latent.latent_walk(model, image, 0, position, [0.1])


@pytest.mark.parametrize("position", [(1,), (0, 0, 0), (0.0, 1), 3])
def test_position_must_be_a_pair_of_integers(model, image, position):
    with pytest.raises(ValueError, match="position must be a \\(row, column\\) pair of integers"):
        latent.latent_walk(model, image, 0, position, [0.1])


@pytest.mark.parametrize("deltas, message", [([], "non-empty 1-D"), ([[0.1]], "non-empty 1-D"),
                                             ([np.nan], "finite")])
def test_invalid_deltas_are_rejected(model, image, deltas, message):
    with pytest.raises(ValueError, match=message):
        latent.latent_walk(model, image, 0, (0, 0), deltas)


def test_image_of_the_wrong_size_is_rejected(model):
    with pytest.raises(ValueError, match=r"image must be \(64, 64\) for this model"):
        latent.encode_image(model, np.zeros((32, 32)))
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
        latent.encode_image(model, np.full((SIZE, SIZE), 2.0))
    with pytest.raises(ValueError, match=r"latents must be \(N, 2, 2, 2\)"):
        latent.decode_latents(model, np.zeros((1, 2, 7, 7)))


def test_noised_image_is_seeded_binary_and_leaves_the_input_alone(image):
    a = latent.noised_image(image, seed=3)
    b = latent.noised_image(image, seed=3)
    c = latent.noised_image(image, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
    changed = (a != image).mean()
    assert 0 < changed < 0.33  # at most the largest rectangle (33 % of the image), about half of it flipped
    np.testing.assert_array_equal(latent.noised_image(image, seed=3, probability=0.0), image)
    with pytest.raises(ValueError, match="probability"):
        latent.noised_image(image, 0, probability=2)


def test_bce_and_constant_predictor():
    target = np.array([[0, 1], [0, 0]])
    assert latent.binary_cross_entropy(target, target) < 1e-5
    f = 0.25
    expected = -(f * np.log(f) + (1 - f) * np.log(1 - f))
    assert latent.constant_predictor_bce(target) == pytest.approx(expected)
    assert latent.binary_cross_entropy(np.full((2, 2), f), target) == pytest.approx(expected)
    assert latent.constant_predictor_bce(np.zeros((2, 2))) == 0.0


def test_changed_and_flipped_fraction():
    ref = np.zeros((2, 2))
    imgs = np.stack([ref, np.array([[0.9, 0.1], [0.2, 0.01]])])
    np.testing.assert_allclose(latent.flipped_fraction(imgs, ref), [0.0, 0.25])
    np.testing.assert_allclose(latent.changed_fraction(imgs, ref), [0.0, 0.75])
    with pytest.raises(ValueError, match=r"must be \(K, \*reference\.shape\)"):
        latent.changed_fraction(ref, ref)


def test_element_index_matches_the_flattened_fingerprint(model, image):
    z = latent.encode_image(model, image)
    for c, pos in [(0, (0, 0)), (1, (1, 0)), (1, (0, 1))]:
        assert z.ravel()[latent.element_index(model.config, c, pos)] == z[c, pos[0], pos[1]]


def test_scaled_walks_multiply_the_deltas(model, image):
    specs = (((0, 1), (0.5, 1.0)), ((1, 1), (0.25, 0.5)))
    walks = latent.latent_walk_grid(model, image, specs, channel=0, steps=2, scales=[2.0, 4.0])
    np.testing.assert_allclose(walks[0].deltas, [0, 1.0, 2.0])
    np.testing.assert_allclose(walks[1].nominal_deltas, [0, 0.25, 0.5])
    plain = latent.latent_walk(model, image, 0, (1, 1), [0, 1.0, 2.0])
    np.testing.assert_allclose(walks[1].images, plain, atol=1e-6)
    assert walks[1].flipped_fraction.shape == (3,)
    with pytest.raises(ValueError, match="scales must be 2 positive numbers"):
        latent.latent_walk_grid(model, image, specs, channel=0, scales=[1.0])
    with pytest.raises(ValueError, match="scales must be 2 positive numbers"):
        latent.latent_walk_grid(model, image, specs, channel=0, scales=[1.0, 0.0])


# --- the example material -----------------------------------------------------------------------------------
def _profile(store, **changes):
    from elfutils.book.profiles import Profile

    return Profile(**{"name": "test", "store": str(store.path), "image_size": 32, "epochs": 1,
                      "use_committed_model": False, **changes})


def test_example_image_from_the_dataset_or_the_band_file(cache, tiny_store):
    from elfutils.book import pipeline
    from elfutils.book.example_material import example_image

    with_fixtures = _profile(tiny_store, include_fixture_files=True, max_materials=14)
    image, info = example_image(with_fixtures, "2dm-1")
    stack, ids, _ = pipeline.images(with_fixtures)
    np.testing.assert_array_equal(image, stack[ids.index("2dm-1")])
    assert info["in_dataset"] and info["split"] in ("in the training set",
                                                    "in the validation set") and info["formula"] == "IrF2"
    assert "2dm-1.json (VASP)" in info["source"]
    alone = _profile(tiny_store)
    image2, info2 = example_image(alone, "2dm-1")
    np.testing.assert_array_equal(image2, image)  # rendered with the same settings
    assert not info2["in_dataset"] and info2["split"] == "not in the dataset"
    assert next(label for _, label in info2["ticks"]) == "Γ" and info2["ticks"][-1][0] == 1.0
    with pytest.raises(KeyError, match="2dm-999999 is neither in profile 'test'"):
        example_image(alone, "2dm-999999")


def test_draw_band_image_draws_energy_and_path_axes_and_the_zero_line(image):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    from elfutils.images.plot import BAND_IMAGE_GID, draw_band_image

    draw_band_image(ax, image, ticks=[(0.0, "Γ"), (0.5, "K"), (1.0, "Γ")], title="x")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Γ", "K", "Γ"]
    assert ax.get_ylim() == (-4.0, 4.0) and ax.get_title() == "x"
    assert list(ax.get_yticks()) == [-4.0, -2.0, 0.0, 2.0, 4.0] and "eV" in ax.get_ylabel()
    assert [list(line.get_ydata()) for line in ax.lines] == [[0.0, 0.0]]
    assert ax.get_images()[0].get_gid() == BAND_IMAGE_GID
    plt.close(fig)
