"""Every figure the book draws, by what it shows: band images and band lines (:mod:`.bands`), fingerprint
maps, cluster trees and embeddings (:mod:`.maps`), parameter studies and distance distributions
(:mod:`.studies`), layers and structural clusters (:mod:`.structures`), the interactive maps and downloads of
the web page (:mod:`.web`), and the colours they share (:mod:`.style`).

Each function takes tables the stages and measurements made and returns a matplotlib ``Figure`` or ``Axes``
(an ``ax`` argument draws into an existing one) or an HTML string; nothing is shown or saved here, and nothing
is computed that a reader could want as a number (that is :mod:`elfutils.analysis` or
:mod:`elfutils.book.measurements`). The rule the project holds: a function that draws a figure for a reader
lives here or, below the book layer, in a module named ``plot`` of its layer (:mod:`elfutils.images.plot`,
:mod:`elfutils.nn.plot`, :mod:`elfutils.dft.plot`); ``tests/test_layers.py`` checks it.
"""

from elfutils.book.plots import bands, maps, structures, studies, style, web  # noqa: F401
