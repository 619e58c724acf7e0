"""`elf export-fingerprints`: a profile's fingerprint table (the embedded dataset's, the atlas's) in one file,
and :func:`load_fingerprints`, the same table in Python (``elfutils.load_fingerprints``).

Why this lives in the commands layer: the embedded dataset's fingerprints are a stage of the book's cache,
keyed by the dataset, the model and the code (:func:`elfutils.book.pipeline.fingerprints`), and the atlas's
are committed under ``models/book-results`` under that key. Only the book layer knows the key, and the
library (data, images, nn, analysis) never imports the book (``tests/test_layers.py``); the commands layer
sits on top of both, so the public function that returns "the dataset's table" belongs here, beside the
command that writes it, rather than as a second reader of the book's files below it.
"""

from __future__ import annotations

from pathlib import Path

from elfutils.commands._common import INPUT_ERRORS, check_outputs, report_error

PROFILES_HELP = ("default: the embedded GPAW dataset of flat-band materials; atlas: every 2Dmatpedia "
                 "material we computed, encoded by the model trained on all of them; 2dmatpedia: the "
                 "imported VASP files (elfutils.book.profiles)")


def profile_model(profile: str = "default") -> Path:
    """The model file that encoded ``profile``'s fingerprints (the committed one, or one the book trained into
    the cache); never trains. ValueError saying how to get one when there is none."""
    from elfutils.book import pipeline

    path, why = pipeline.trained_model_file(profile)
    if path is None:
        raise ValueError(f"{why}; build it with `make models` or `make book`")
    return path


def load_fingerprints(profile: str = "default", model: str | None = None):
    """The fingerprint table of a profile's dataset: a DataFrame with ``material_id``, ``formula`` and
    ``f0`` .. ``f97`` (one row per material), as :func:`elfutils.analysis.fingerprints.read_fingerprints`
    returns a table of `elf encode`, so it goes straight into :func:`elfutils.analysis.similar.find_similar`.
    ``table.attrs["model"]`` names the model file that encoded it: a query must be encoded by the same model
    to be compared with it (``load_model(table.attrs["model"])``).

    ``profile``: "default" (the embedded dataset, encoded by ``models/elf-resnet18``), "atlas" (every
    2Dmatpedia material we computed, encoded by ``models/elf-resnet18-atlas``) or another name of
    :data:`elfutils.book.profiles.PROFILES`. The table comes from the book's cache, else from the results
    committed in ``models/book-results``, else it is encoded once (about a minute for the default dataset on a
    2-core CPU) and cached. Never trains: without a trained model it is a ValueError saying how to get one; a
    profile whose band store is missing is a FileNotFoundError saying how to build it.

    ``model``: None for the profile's own model (the paper's network), or ``"elf2"`` for the same materials
    encoded by the committed elf-2 (:mod:`elfutils.book.stages.elf2`).
    """
    from elfutils.book import pipeline

    if model is not None:
        from elfutils.nn.fingerprinter import ELF2_MODEL  # imports torch: only when a model is named

        if str(model) != ELF2_MODEL:
            raise ValueError(f"a profile's table is encoded by its own model or by {ELF2_MODEL!r}, "
                             f"not {model!r}")
    pipeline.require_store(profile)
    if model is None:
        path = profile_model(profile)
        table = pipeline.fingerprints(profile)
    else:
        from elfutils.book.stages import elf2

        path, table = elf2.model_path(), elf2.fingerprints(profile)
    table.attrs.update(profile=str(profile), model=str(path))
    return table


def load_windowed_fingerprints(profile: str, window: tuple[float, float], model=None):
    """A profile's fingerprint table with every material cropped to ``window`` (eV around the zero) before it
    is drawn and encoded by the profile's model (:mod:`elfutils.analysis.figure_window`): what a figure
    showing only that window is compared with. Encoded once per window (the atlas: ~2 minutes on a 2-core
    CPU) and cached beside the profile's fingerprints, keyed by them; a material with no band inside the
    window is left out. ``model``: the profile's :class:`~elfutils.nn.fingerprinter.Fingerprinter` when
    already loaded."""
    from elfutils.analysis.figure_window import crop_to_window
    from elfutils.analysis.fingerprints import make_table, read_fingerprints, write_fingerprints
    from elfutils.book import pipeline
    from elfutils.book.cache import file_hash
    from elfutils.nn.fingerprinter import load_fingerprinter
    from elfutils.paths import cache_dir

    model_path = model.path if model is not None else profile_model(profile)
    # keyed by the profile's table and the model file too: elf-2 and the paper's network share a profile
    key = f"{pipeline.fingerprints_key(profile)}-{file_hash(model_path)[:12]}"
    name = f"{profile}-{key}-{window[0]:+.2f}-{window[1]:+.2f}.parquet"
    path = cache_dir() / "windowed-fingerprints" / name
    if path.exists():
        table = read_fingerprints(path)
    else:
        model = model or load_fingerprinter(model_path)
        records = [crop_to_window(r, window) for r in pipeline.load_dataset(profile)]
        # A material with no band inside the window draws an empty figure: it cannot be what a figure of
        # that window shows, so it is no candidate there (kept out, not an error).
        images, ids, formulas = model.render(records, skipped=[])
        table = make_table(ids, formulas, model.encode(images))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_fingerprints(table, path)
    table.attrs.update(profile=str(profile), model=str(model_path), window=tuple(window))
    return table


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-fingerprints",
        help="write a profile's fingerprint table (e.g. the atlas's) to .parquet or .csv, e.g. for pandas",
        description="Write the fingerprint table of a profile's dataset (material_id, formula, f0..f97; "
        "the one `elf similar --profile` searches) to one file: Parquet for .parquet/.pq, CSV otherwise. "
        "Read it with pandas.read_parquet or elfutils.analysis.fingerprints.read_fingerprints; in Python, "
        "elfutils.load_fingerprints(PROFILE) returns the same table. Nothing is trained; the table is taken "
        "from the cache or the committed results, else encoded once with the profile's model.",
    )
    p.add_argument("--profile", default="default", help=f"whose fingerprints (default: %(default)s). "
                                                        f"{PROFILES_HELP}")
    p.add_argument("--out", type=Path, required=True, metavar="TABLE", help="output .parquet or .csv")
    p.set_defaults(func=run)


def run(args) -> int:
    from elfutils.analysis.fingerprints import write_fingerprints

    check_outputs(args.out)
    try:
        table = load_fingerprints(args.profile)
    except INPUT_ERRORS as exc:
        return report_error("export-fingerprints", exc)
    write_fingerprints(table, args.out)
    print(f"wrote {len(table)} fingerprints of the {args.profile} profile (encoded by "
          f"{table.attrs['model']}) to {args.out}")
    return 0
