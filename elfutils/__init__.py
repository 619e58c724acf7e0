"""elf: electronic band-structure fingerprints from a convolutional autoencoder."""

__version__ = "0.1.0"
