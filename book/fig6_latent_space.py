# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 6: walking through the latent space of 2dm-1
#
# The paper reads what single latent dimensions mean by encoding the band structure of 2dm-1 (IrF2), shifting
# one number of its latent by Δ and decoding the result: the reconstruction changes in one region of the band
# structure, and with larger Δ bands cross or split there. Panel a shifts channel 2 at matrix position (2,2),
# panel b at (3,0). This chapter repeats both walks with our network and shows, under each decoded row, the
# difference from the Δ = 0 reconstruction, so the region that changes is visible. As the paper chose its Δ
# ranges for its own latent, the walks are repeated with Δ in units of each number's spread over our
# materials.

# %% tags=["parameters"]
profile = "default"  # parameter profile (elfutils.book.profiles): default, smoke, retrain or 2dmatpedia

# %%
from elfutils import constants
from elfutils.book import measurements, paper_quantities, pipeline
from elfutils.book.profiles import get_profile
from elfutils.book.sphinx_ext import glue_values
from elfutils.nn import latent
from elfutils.nn import plot as nn_plot

settings = get_profile(profile)
config = pipeline.model(settings)[1]
walk_study = measurements.latent_walk_study(settings)
info, walks = walk_study.info, walk_study.walks
title = f"{info['material_id']} ({info['formula']}), channel {{}}, position {{}}{{}}"

# %% [markdown]
# The paper gives each range's ends, not the Δ values of the images it shows; we decode Δ = 0 and
# {glue:text}`walk_steps` evenly spaced values from one end to the other. Channel and positions are zero-based
# (row, column) indices into the {glue:text}`latent_grid` latent: the paper's "channel 2" is index
# {glue:text}`walk_channel_index`, and its position "(3,0)" only exists zero-based. A pixel counts as changed
# when its probability moves by at least {glue:text}`change_tolerance` from the Δ = 0 reconstruction.

# %%
specs = dict(zip(measurements.WALK_LABELS, constants.LATENT_WALK_SPECS, strict=True))
glue_values(walk_steps=latent.WALK_STEPS, walk_channel_index=constants.LATENT_WALK_CHANNEL,
            walk_channel=constants.LATENT_WALK_CHANNEL + 1, example_formula=info["formula"],
            example_source=info["source"], example_split=info["split"],
            change_tolerance=latent.CHANGE_TOLERANCE,
            latent_grid=f"{config.latent_side} × {config.latent_side} × {config.latent_channels}",
            **{f"walk_{k}_{name}": v for k, (pos, (lo, hi)) in specs.items()
               for name, v in (("position", f"({pos[0]},{pos[1]})"), ("low", lo), ("high", hi))})

# %% [markdown]
# ## a: channel 2, position (2,2)
#
# Δ from {glue:text}`walk_a_low` to {glue:text}`walk_a_high`.
# Top: the decoded band structures (grey levels are pixel probabilities; Δ = 0 is the plain reconstruction).
# Bottom: decoded minus the Δ = 0 reconstruction (red: more line, blue: less; the colour scale runs to the
# walk's largest change), with the share of changed pixels under each.

# %%
walk = walks[0]
nn_plot.walk_figure(walk, info["ticks"], settings.energy_window,
                   title.format(walk.channel + 1, walk.position, ": a"));

# %% [markdown]
# ## b: channel 2, position (3,0)
#
# Δ from {glue:text}`walk_b_low` to {glue:text}`walk_b_high`, shown the same way.

# %%
walk = walks[1]
nn_plot.walk_figure(walk, info["ticks"], settings.energy_window,
                   title.format(walk.channel + 1, walk.position, ": b"));

# %% [markdown]
# ## How large the steps are
#
# A Δ means something only against the spread of that latent number over the materials. Per walk: the
# number's value for 2dm-1, its standard deviation σ over the profile's fingerprints, and per Δ the share of
# changed pixels, of flipped band pixels (binarised at one half) and the largest probability change.

# %%
z_column = {"z0": f"z({info['material_id']})"}
walk_study.steps().round(4).rename(columns=z_column).set_index(["walk", "Δ"])

# %%
last = walk_study.largest_steps()
glue_values(**{f"walk_{k}_{col}": float(last.loc[k, src]) for k in measurements.WALK_LABELS for col, src in (
    ("changed_max", "changed (%)"), ("sigma", "σ"), ("z0", "z0"), ("high_over_sigma", "Δ / σ"),
    ("max_dprob", "max |Δ probability|"))})

# %% [markdown]
# At the largest step of walk a (Δ = {glue:text}`walk_a_high`, {glue:text}`walk_a_high_over_sigma:.2f` σ
# of that number over our materials) {glue:text}`walk_a_changed_max:.2f`% of the pixels change (largest
# probability change {glue:text}`walk_a_max_dprob:.3f`); at the largest step of walk b
# (Δ = {glue:text}`walk_b_high`, {glue:text}`walk_b_high_over_sigma:.2f` σ)
# {glue:text}`walk_b_changed_max:.2f`% (largest change {glue:text}`walk_b_max_dprob:.3f`). Our latent is not
# the paper's (another training run on other data, and no constraint on the latent's scale), so the same
# position need not hold the same feature and the paper's Δ need not be the same size of step for our
# network.

# %% [markdown]
# ## a and b in units of the spread
#
# The same walks with every Δ multiplied by that number's σ: Δ = 1 σ moves the number by one standard
# deviation of its values over our materials, whatever the scale our network learned.

# %%
for label, walk in zip(measurements.WALK_LABELS, walk_study.scaled, strict=True):
    nn_plot.walk_figure(walk, info["ticks"], settings.energy_window,
                       title.format(walk.channel + 1, walk.position, f": {label}, Δ in units of σ"))

# %%
scaled_last = walk_study.largest_steps(scaled=True)
glue_values(**{f"scaled_{k}_{name}_max": float(scaled_last.loc[k, column]) for k in measurements.WALK_LABELS
               for name, column in (("changed", "changed (%)"), ("flipped", "flipped (%)"))})
walk_study.steps(scaled=True).round(4).rename(columns=z_column).set_index(["walk", "Δ"])

# %% [markdown]
# In units of σ, the largest step changes {glue:text}`scaled_a_changed_max:.2f`% of the pixels in walk a
# ({glue:text}`scaled_a_flipped_max:.2f`% band pixels appear or vanish) and
# {glue:text}`scaled_b_changed_max:.2f`% in walk b ({glue:text}`scaled_b_flipped_max:.2f`%). Where the
# difference maps show a compact red-blue patch, the number controls one region of the band structure, as
# the paper describes; since the network is fully convolutional, that region should lie near the position's
# place in the image (row: energy from the top, column: path from the left).

# %% [markdown]
# ## The paper's numbers beside ours

# %%
paper_quantities.show_chapter(settings, "fig6_latent_space", latent_walks=walk_study)

# %% [markdown]
# Walk a shifts channel {glue:text}`walk_channel` at {glue:text}`walk_a_position` by Δ from
# {glue:text}`walk_a_low` to {glue:text}`walk_a_high`, walk b at {glue:text}`walk_b_position` from
# {glue:text}`walk_b_low` to {glue:text}`walk_b_high`, as in the paper. The input is
# {glue:text}`example_formula` from {glue:text}`example_source`, {glue:text}`example_split`. The paper shows
# the decoded images only; the changed-pixel shares and the walks in units of σ are ours.
