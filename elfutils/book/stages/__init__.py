"""The book's expensive stages, one module per stage family, cached on disk and keyed by everything they
depend on. Each declares its cache key and its computation and leaves the caching to
:func:`elfutils.book.cache.cached_stage`; :mod:`elfutils.book.pipeline` re-exports them for the chapters.

    dataset -> images -> model -> fingerprints -> clustering (+ cluster tree, exemplars), search_clusterer
                                               -> search_calibration (how `elf similar` reads its results)
                                               -> parameter_study, tsne, fingerprint_quality
    dataset -> bond_geometry (Fig. 4's survey), structural_fingerprints (CNNF; independent of the network)
    images -> architectures (Supplementary Note 2: a model per trunk / latent size, trained apart)
    dataset -> elf2 (elf-2's fingerprints, from the committed elf-2 model)

Every stage takes a :class:`~elfutils.book.profiles.Profile` (or its name). A stage's cache key is a hash of

* its inputs' keys -- the dataset's content hash (the band energies, k-points and labels of the selected
  materials, so compacting the store or adding unrelated materials changes nothing), the images' data hash,
  the model's weights hash ...,
* its own settings from the profile (render parameters, the model config, the clustering parameters),
* the source of the elfutils modules that compute it and of every library module they import
  (:func:`elfutils.book.cache.code_hash`),

so a changed dataset, config or analysis choice recomputes exactly the stages downstream of the change, and
a second ``make book`` reuses everything. Results live under ``elfutils.paths.cache_dir()/<stage>/<key>.*``
and are written atomically; a per-key file lock makes notebooks executed in parallel (``make -j``) wait for
one computation instead of repeating it. Each stage appends its wall time to ``cache_dir()/timings.json``.

Stages call one another through their modules (``images.images(p)``), so a test replaces a stage or a seam
once, in the module that defines it.
"""
