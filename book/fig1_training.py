# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 1: training elf and reconstructing a band structure
#
# The paper's Fig. 1 shows the pipeline: a convolutional autoencoder (ResNet18 encoder, transposed ResNet18
# decoder) learns to reproduce band-structure images around the Fermi level from noised copies; the latent of
# a clean image, flattened, is the material's fingerprint. Its example is 2dm-1 (IrF2). This chapter shows our
# network's training and validation loss per epoch, the input, noised input and reconstruction of 2dm-1, and
# its fingerprint; the last section puts the paper's numbers beside ours.
#
# The energy zero, the k-path, spin, the absence of spin–orbit coupling, the basis and the other
# conventions and limits these results rest on: {ref}`conventions`.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
import matplotlib.pyplot as plt
import numpy as np

from elfutils import constants
from elfutils.book import paper_quantities, pipeline
from elfutils.book.example_material import example_image
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values
from elfutils.images.plot import draw_band_image
from elfutils.images.render import LINE_WIDTH_PX
from elfutils.nn import latent

settings = get_profile(profile)
net, config, card = pipeline.model(settings)
history = pipeline.model_history(settings)

# %% [markdown]
# ## Training and validation loss
#
# The loss is the binary cross-entropy (BCE, mean per pixel, in nats) between the clean image and the
# reconstruction of its noised copy. The validation images are noised the same way with a fixed seed; the
# dotted line is the validation loss on clean inputs.

# %%
final = history.iloc[-1]
images, ids, _ = pipeline.images(settings)
glue_values(
    epochs=int(final.epoch), final_train_bce=final.train_bce, final_val_bce=final.val_bce,
    final_val_clean_bce=final.val_bce_clean, val_train_percent=100 * (final.val_bce / final.train_bce - 1),
    max_val_train_percent=100 * float((history.val_bce / history.train_bce - 1).abs().max()),
    validation_verdict=paper_quantities.validation_verdict(history),
    n_images=len(ids), n_train=card["n_train"], n_val=card["n_val"], device=card["device"],
    weights_epoch=int(card["epoch"]),
    precision=card["precision"], train_minutes=history.seconds.sum() / 60,
    model_source=card["pipeline_source"].split(" (")[0], paper_bce=constants.PAPER_TRAIN_BCE, paper_epochs=constants.EPOCHS,
    paper_tolerance_percent=100 * constants.PAPER_VALIDATION_TOLERANCE)

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(history.epoch, history.train_bce, "o-", label="training (noised inputs)")
ax.plot(history.epoch, history.val_bce, "s-", label="validation (noised inputs)")
ax.plot(history.epoch, history.val_bce_clean, "s:", color="C1", alpha=0.6, label="validation (clean inputs)")
ax.axhline(constants.PAPER_TRAIN_BCE, color="0.3", ls="--", lw=1, label="paper: converged training BCE")
ax.set(xlabel="epoch", ylabel="BCE per pixel", title="elf training")
ax.xaxis.get_major_locator().set_params(integer=True)
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# The network trained for {glue:text}`epochs` epochs on {glue:text}`n_train` images and was validated on
# {glue:text}`n_val` ({glue:text}`n_images` in all) in {glue:text}`train_minutes:.1f` minutes on
# {glue:text}`device` ({glue:text}`precision`); model used: {glue:text}`model_source`, with the weights of
# epoch {glue:text}`weights_epoch` (the lowest validation loss on clean inputs). The final training
# BCE is {glue:text}`final_train_bce:.4f`, the validation BCE {glue:text}`final_val_bce:.4f`
# ({glue:text}`val_train_percent:+.1f`% relative to the training BCE).
#
# {glue:text}`validation_verdict` The paper's validation loss "remained within
# {glue:text}`paper_tolerance_percent:.0f`% of the training loss throughout the training process".

# %% [markdown]
# ## Input, noised input and reconstruction of 2dm-1 (IrF2)
#
# The noise is the training augmentation (`elfutils.nn.noise`): a random rectangle of the image replaced by
# random black and white pixels. Training applies it to {glue:text}`noise_percent:.0f`% of the images; here it
# is applied for certain, with the profile's seed, so the figure is the same on every build. The
# reconstruction is the network's output for the noised input, as in training (grey levels are pixel
# probabilities).

# %%
image, info = example_image(settings, constants.LATENT_WALK_MATERIAL)
noised = latent.noised_image(image, seed=settings.seed)
recon = latent.reconstruct(net, noised)
recon_clean = latent.reconstruct(net, image)
glue_values(example_id=info["material_id"], example_formula=info["formula"], example_source=info["source"],
            example_split=info["split"], noise_percent=100 * config.noise_probability,
            noised_fraction=100 * float((noised != image).mean()),
            example_bce=latent.binary_cross_entropy(recon, image),
            example_clean_bce=latent.binary_cross_entropy(recon_clean, image))

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), sharey=True)
for ax, img, title in zip(axes, (image, noised, recon), ("input", "noised input", "reconstruction"),
                          strict=True):
    draw_band_image(ax, img, settings.energy_window, title, info["ticks"], ylabel=ax is axes[0],
                    title_size=None)
fig.suptitle(f"{info['material_id']} ({info['formula']})")
fig.tight_layout()

# %% [markdown]
# The input is {glue:text}`example_id` ({glue:text}`example_formula`) from {glue:text}`example_source`; in
# this profile it is {glue:text}`example_split` (the split is seeded). The noise changed
# {glue:text}`noised_fraction:.1f`% of its pixels. The reconstruction of the noised input scores a BCE of
# {glue:text}`example_bce:.4f` against the clean image; the reconstruction of the clean input
# {glue:text}`example_clean_bce:.4f`.

# %% [markdown]
# ## The fingerprint
#
# The encoder's output for the clean image, {glue:text}`latent_shape` numbers (columns × rows × channels; the
# paper's "channel 1" and "channel 2"), flattened channel by channel into the fingerprint that the clustering
# uses.

# %%
z = latent.encode_image(net, image)
limit = float(np.abs(z).max())
fig, axes = plt.subplots(1, z.shape[0], figsize=(3.2 * z.shape[0] + 0.8, 3.2), constrained_layout=True)
for c, ax in enumerate(np.atleast_1d(axes)):
    artist = ax.imshow(z[c], cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set(title=f"channel {c + 1}", xticks=range(z.shape[2]), yticks=range(z.shape[1]),
           xlabel="column", ylabel="row" if c == 0 else "")
fig.colorbar(artist, ax=axes, shrink=0.85, label="latent value")
glue_values(fingerprint_length=z.size, latent_shape=" × ".join(map(str, z.shape[::-1])),
            fingerprint_min=float(z.min()), fingerprint_max=float(z.max()))

# %% [markdown]
# The fingerprint of {glue:text}`example_id` has {glue:text}`fingerprint_length` numbers
# ({glue:text}`latent_shape`), from {glue:text}`fingerprint_min:.2f` to {glue:text}`fingerprint_max:.2f`.

# %% [markdown]
# ## Why our loss is not the paper's
#
# A BCE value has no meaning on its own: it depends on how much of the image is line. A model that knows
# nothing about the band structure and predicts every pixel at the dataset's share of line pixels scores
# the constant-predictor BCE below; a trained network is judged by how far below it gets.

# %%
ink = float(images.mean())
baseline = latent.constant_predictor_bce(images)
vasp = {r.material_id for r in pipeline.load_dataset(settings) if str(r.source).endswith((".json", ".json.gz"))}
glue_values(ink_percent=100 * ink, baseline_bce=baseline, train_over_baseline=final.train_bce / baseline,
            line_width_px=settings.line_width or LINE_WIDTH_PX, paper_n_materials=constants.PAPER_N_MATERIALS,
            n_vasp_images=len(vasp & set(ids)), n_gpaw_images=len(set(ids) - vasp))

# %% [markdown]
# Our images hold {glue:text}`ink_percent:.1f`% line pixels, for a constant-predictor BCE of
# {glue:text}`baseline_bce:.3f`; our final training BCE is {glue:text}`train_over_baseline:.2f` times that.
# The paper's {glue:text}`paper_bce` comes from other images, so the two values are not on one scale:
#
# * **other band structures.** The paper trained on 2Dmatpedia's VASP band structures of its
#   {glue:text}`paper_n_materials` materials; we train on {glue:text}`n_gpaw_images` band structures of our
#   own GPAW calculations and {glue:text}`n_vasp_images` of 2Dmatpedia's VASP files (the data chapter compares
#   the two codes), so the number and the shapes of the bands differ.
# * **line width.** We draw {glue:text}`line_width_px:.1f` px lines (`elfutils.images.render`); the group's plotting
#   script draws thicker ones before resizing. More ink per image raises the constant-predictor BCE, and
#   usually the loss a network reaches, so the paper's BCE and ours measure different tasks.
# * **input channels.** The paper feeds identical RGB channels, we feed one. The first convolution of
#   identical channels equals that of one channel with the summed kernel, so this does not change what
#   the network can learn; and a BCE averaged over identical output channels equals that of one.
# * **training settings.** The paper does not give batch size, optimiser or learning rate; ours are in
#   `ElfConfig` (one-cycle AdamW). This profile trained {glue:text}`epochs` epochs (paper:
#   {glue:text}`paper_epochs`).
#
# We have not rendered the paper's images, so we do not know their line-pixel share or constant-predictor BCE.

# %% [markdown]
# ## The paper's numbers beside ours

# %%
paper_quantities.show_chapter(settings, "fig1_training")

# %% [markdown]
# {glue:text}`validation_verdict` The paper reports the training loss settling at {glue:text}`paper_bce`
# after {glue:text}`paper_epochs` epochs; ours ends at {glue:text}`final_train_bce:.4f` after
# {glue:text}`epochs` epochs (reasons for the difference in level: above).
