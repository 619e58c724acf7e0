"""The paper's parameters, in one place.

Every constant names the section of Pentz, Warford et al., Commun. Phys. 2025 ("the paper") that fixes it;
the few that are our own choices (the paper is silent) say "ours". Code elsewhere imports these names instead
of repeating the numbers.
"""

from elfutils.choices import CHOICES

# --- Band-structure images (Methods, "Network training and fingerprint") -------------------------------
IMAGE_SIZE = 224  # "resized as 224 x 224 pixel images"
ENERGY_WINDOW_EV = 4.0  # "band structure data within a +-4 eV range of the Fermi energy"
POINTS_PER_SEGMENT = 21  # ours: not in the paper; the 2Dmatpedia band files have 21 k-points a segment

# --- Autoencoder (Methods, "Network training and fingerprint"; Results, Fig. 1) -------------------------
BACKBONE = "resnet18"  # "We employed a ResNet18 architecture for both the encoder and decoder"
LATENT_CHANNELS = 2  # "7 x 7 matrix with two parallel channels"
LATENT_SIDE = 7
FINGERPRINT_LENGTH = LATENT_CHANNELS * LATENT_SIDE * LATENT_SIDE  # 98: "flattened length of 98"
NOISE_PROBABILITY = 0.5  # "random noise to regions of the input images with a probability of 0.5"
# (the Results call it "random Gaussian noise"; on binary images we fill the regions with random 0/1 pixels:
# elfutils.nn.noise)
EPOCHS = 30  # "the training loss stabilise at 0.282 (using BCE) after 30 epochs"
PAPER_TRAIN_BCE = 0.282  # the converged training loss the paper reports
PAPER_VALIDATION_TOLERANCE = 0.05  # "validation set remained within 5% of the training loss"

# --- Clustering (Methods, "Multi-stage clustering module"; Results, first paragraphs) ---------------------
HDBSCAN_MIN_CLUSTER_SIZE = 5  # Nc
HDBSCAN_MIN_SAMPLES = 2  # Ns
MINKOWSKI_P = 0.2  # "Minkowski distance with exponent p = 0.2"
UMAP_N_NEIGHBORS = 10  # NN
UMAP_MIN_DIST = 0.1  # MD
DBSCAN_MIN_SAMPLES = 5  # the paper's "minimum cluster size (Smin) of 5", read as DBSCAN's min_samples
DBSCAN_EPS_RESULTS = 0.8  # Results quote eps = 0.8 on the UMAP plane
DBSCAN_EPS_METHODS = 25.0  # Methods quote eps = 25 (scale of their plot); see the book for our choice
PARAMETER_STUDY_RANGE = range(2, 12)  # Methods (Fig. 7's study): "Ns and Nc were both varied from 2 to 11"

# --- Numbers the paper reports, for the "paper vs reproduction" chapter ----------------------------------
PAPER_N_MATERIALS = 2127  # pool of flat-band materials encoded
PAPER_N_CLUSTERS = 50
PAPER_N_UNCLASSIFIED = 1662
PAPER_N_CNNF_CLUSTERS = 45  # Fig. 5
PAPER_N_CNNF_LOCALISED = 18  # "18 form localized groups of more than 5 materials"
PAPER_MAX_DUPLICATES = 40  # "up to 40 potential duplicate entries": materials, not pairs
CNNF_LOCALISED_MIN_MEMBERS = 6  # from the Results' "localized groups of more than 5" (ours: > 5 read as >= 6)

# Table 1: duplicate pairs the paper lists (formula -> pair of 2Dmatpedia ids)
PAPER_TABLE1_DUPLICATES = {
    "In2S": ("2dm-1845", "2dm-1986"),
    "Tl2Te": ("2dm-1554", "2dm-1521"),
    "PI3": ("2dm-495", "2dm-2009"),
    "Te2Se": ("2dm-1823", "2dm-1596"),
    "SrLaCl5": ("2dm-5260", "2dm-5422"),
    "AsBr3": ("2dm-2624", "2dm-4881"),
    "I3N": ("2dm-2010", "2dm-726"),
    "ZnSe": ("2dm-2113", "2dm-2321"),
}

# Methods (the walk of Fig. 6): latent walk on 2dm-1 (IrF2), channel 2 (index 1), positions, delta ranges
LATENT_WALK_MATERIAL = "2dm-1"
LATENT_WALK_CHANNEL = 1  # the paper's "channel 2", zero-based
LATENT_WALK_SPECS = (((2, 2), (0.5, 0.9)), ((3, 0), (0.25, 1.1)))

SEED = CHOICES.seed  # ours (elfutils.choices): one seed threaded through numpy, torch and UMAP
N_PERMUTATIONS = CHOICES.n_permutations  # ours: shufflings behind every permutation baseline and p-value

# Results, "Local trends" and Fig. 3: anchor material -> (formula, the paper's cluster, co-clustered
# materials)
PAPER_CO_CLUSTERED = {
    "2dm-2474": ("InAs", 20, {"2dm-2252": "AlBi", "2dm-2650": "TlBi", "2dm-2847": "TlSb", "2dm-2672": "TlP"}),
    "2dm-1072": ("Bi2O3", 46, {"2dm-3090": "ZnMoO4", "2dm-3226": "Tl2SiSe3"}),
}
# Results, "Analysis of global trends": the chemistry the paper reads off its clusters
PAPER_CHEMISTRY_CLUSTERS = {"halide": (26, 27), "transition-metal chalcogenide": (24, 41, 25, 8)}
# Results: clusters "characterized by the presence of dense, flat bands near the Fermi energy" (Fig. 2d, 2g)
PAPER_FLAT_BAND_CLUSTERS = (47, 48, 49, 23, 22, 18)
# Results, "Local trends": with Nc = 4 one cluster holds these four rare-earth trifluorides (the paper does
# not say Ns; we keep Ns = 2)
PAPER_NC4_CLUSTER = {"2dm-321": "NdF3", "2dm-441": "TbF3", "2dm-553": "YF3", "2dm-875": "SmF3"}
PAPER_NC4_MIN_CLUSTER_SIZE = 4
# Fig. 4: the square-octagon lattice of cluster 20; (a) symmetric, (b) "asymmetrically skewed" (TlBi, TlSb)
PAPER_FIG4_SKEWED = ("2dm-2650", "2dm-2847")
PAPER_FIG3_CLUSTERS = (37, 24, 20)  # Fig. 3 (a-c): the clusters whose top three exemplars the paper shows
PAPER_FIG5_MOTIFS = {13: "kagome", 7: "dice", 35: "honeycomb", 25: "square"}  # Fig. 5: CNNF cluster -> motif
