"""The book's stages, one module per stage family: each declares its cache key and its computation and leaves
the caching to :func:`elfutils.book.cache.cached_stage`."""
