"""elf: electronic band-structure fingerprints from a convolutional autoencoder.

The library in six names (imported on first use, so ``import elfutils`` stays light)::

    from elfutils import encode, find_similar, load_fingerprints, load_model, read_band_structure, render

    bands = read_band_structure("vasprun.xml")          # or 2Dmatpedia / Materials Project JSON
    model, config, card = load_model("models/elf-resnet18/best.safetensors")
    fingerprint = encode(model, render(bands, size=config.image_size)[None])   # (1, 98)
    table = load_fingerprints("default")     # the embedded dataset's table; "atlas": all of 2Dmatpedia
    neighbours = find_similar(fingerprint, table, k=10)  # or any fingerprint table (elf encode)

Layers (arrows point down, the book's machinery sits on top): ``elfutils.data`` -> ``elfutils.images`` ->
``elfutils.nn`` -> ``elfutils.analysis``; ``elfutils.dft`` computes band structures; ``elfutils.book`` builds
the
Jupyter Book; ``elfutils.commands`` are the ``elf`` subcommands.
"""

from importlib import import_module

__version__ = "0.1.0"

_PUBLIC = {  # name -> (module, attribute)
    "read_band_structure": ("elfutils.data.readers", "read_band_file"),
    "render": ("elfutils.images.render", "render_band_image"),
    "load_model": ("elfutils.nn.checkpoint", "load_model"),
    "encode": ("elfutils.nn.training", "encode_images"),
    "find_similar": ("elfutils.analysis.similar", "find_similar"),
    # above the book layer, which keys the dataset's table (see that module's docstring)
    "load_fingerprints": ("elfutils.commands.export_fingerprints", "load_fingerprints"),
    "BandStore": ("elfutils.data.store", "BandStore"),
    "BandStructure": ("elfutils.data.bands", "BandStructure"),
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        module, attribute = _PUBLIC[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'elfutils' has no attribute {name!r}")
