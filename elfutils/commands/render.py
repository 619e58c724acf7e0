"""`elf render`: band files and stores -> one image stack (the autoencoder's input)."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    from elfutils.constants import ENERGY_WINDOW_EV, IMAGE_SIZE
    from elfutils.data.figure_reader import add_figure_arguments
    from elfutils.data.readers import inputs_help

    p = subparsers.add_parser(
        "render",
        help="render band structures as binary 224x224 images into an image stack (.npz)",
        description="Render every band structure in the inputs as a binary image (bands within ±4 eV of E_F, "
        "1 = line pixel) and write them as one image stack. Inputs that cannot be read or rendered are "
        "skipped with a message and listed in <out stem>.skipped.csv beside the stack (written only when "
        "something was skipped); the exit code is non-zero (2, bad input) only when nothing could be "
        "rendered.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUTS",
                   help=inputs_help())
    p.add_argument("--out", type=Path, required=True, metavar="STACK.npz", help="the image stack to write")
    p.add_argument("--x-axis", choices=("index", "distance"), default="index",
                   help="index: equal width per path branch, as the 2Dmatpedia plots (default); "
                        "distance: real k-distance")
    p.add_argument("--png-dir", type=Path, metavar="DIR",
                   help="also write each image as DIR/<material id>.png (black lines on white)")
    p.add_argument("--engine", choices=("fast", "matplotlib"), default="fast",
                   help="fast: numpy rasteriser (default); matplotlib: the Agg reference (slow)")
    p.add_argument("--size", type=int, default=IMAGE_SIZE,
                   help=f"image side in pixels (default {IMAGE_SIZE})")
    p.add_argument("--window", type=float, default=ENERGY_WINDOW_EV,
                   help=f"energy half-range around E_F in eV (default {ENERGY_WINDOW_EV:g})")
    p.add_argument("--line-width", type=float, default=None, help="line width in pixels (default 2.0)")
    p.add_argument("--keep-file-zero", action="store_true",
                   help="keep each file's own Fermi level as the energy zero (default: a gapped material's "
                        "zero is moved just above its valence-band maximum, the convention of 2Dmatpedia "
                        "and of our DFT)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_figure_arguments(p)
    p.set_defaults(func=run)  # fmt: skip


def skipped_path(out: Path) -> Path:
    """Where the skipped list goes: ``STACK.npz`` -> ``STACK.skipped.csv`` beside it."""
    return out.with_name(out.name.removesuffix(".npz") + ".skipped.csv")


def _open_stores(inputs) -> dict:
    """{path: BandStore} for the inputs that are stores (opened once: counted, then read)."""
    from elfutils.data.readers import file_kind
    from elfutils.data.store import BandStore
    from elfutils.errors import BandDataError

    stores = {}
    for path in inputs:
        try:
            if path.exists() and file_kind(path) == "store":
                stores[path] = BandStore(path)
        except (BandDataError, OSError):
            pass  # reported when read
    return stores


def _count(inputs, stores) -> int:
    """Number of records the inputs should yield (a store counts its materials), for the progress bar."""
    from elfutils.errors import BandDataError

    n = 0
    for path in inputs:
        try:
            n += len(stores[path]) if path in stores else 1
        except (BandDataError, OSError):
            n += 1
    return n


def _records(inputs, stores, report, zero: str = "project", figure=None):
    """Yield (label, record) for every readable input; an unreadable one goes to report.skipped and yields
    (label, None), so that the progress bar still advances."""
    from elfutils.data.readers import read_band_file
    from elfutils.errors import BandDataError

    for path in inputs:
        try:
            if path not in stores:
                yield str(path), read_band_file(path, zero=zero, figure=figure)
                continue
            store = stores[path]
            ids = store.ids()
            if not ids:
                raise BandDataError("the store holds no band structures", path)
        except (BandDataError, OSError) as exc:
            report.skipped.append((str(path), str(exc)))
            yield str(path), None
            continue
        for mid in ids:
            try:
                yield f"{path}:{mid}", store.get(mid)
            except (BandDataError, OSError) as exc:
                report.skipped.append((f"{path}:{mid}", str(exc)))
                yield f"{path}:{mid}", None


def run(args) -> int:
    import sys

    import numpy as np
    from tqdm.auto import tqdm

    from elfutils.commands._common import BAD_INPUT, print_skipped, report_os_error
    from elfutils.data.batch_report import BatchReport
    from elfutils.errors import BandDataError
    from elfutils.images.render import LINE_WIDTH_PX, save_png
    from elfutils.images.settings import RenderSettings
    from elfutils.images.stack import save_image_stack
    from elfutils.io import check_writable

    try:  # the stack records them: whoever trains or encodes on it draws the same way
        width = LINE_WIDTH_PX if args.line_width is None else args.line_width
        settings = RenderSettings(image_size=args.size, window_ev=args.window, x_axis=args.x_axis,
                                  line_width_px=width, engine=args.engine,
                                  energy_zero="file" if args.keep_file_zero else "project")
    except ValueError as exc:
        print(f"elf render: {exc}", file=sys.stderr)
        return 2
    try:  # before minutes of rendering: can the stack and the skipped list beside it be written at all?
        pngs = [args.png_dir / "probe.png"] if args.png_dir else []
        for path in (args.out, skipped_path(args.out), *pngs):
            check_writable(path)  # also refuses a symbolic link there (elfutils.io)
    except OSError as exc:
        return report_os_error("render", exc)
    report = BatchReport()
    images, ids, formulas, seen = [], [], [], {}
    stores = _open_stores(args.inputs)
    bar = tqdm(total=_count(args.inputs, stores), desc="rendering", unit="image", disable=args.no_progress)
    for label, bs in _records(args.inputs, stores, report, settings.energy_zero, args.figure):
        bar.update(1)
        if bs is None:  # unreadable, already in report.skipped
            continue
        if bs.material_id in seen:
            report.skipped.append((label, f"duplicate material id {bs.material_id} (already rendered from "
                                          f"{seen[bs.material_id]})"))  # fmt: skip
            continue
        try:
            img = settings.render(bs)
        except BandDataError as exc:
            report.skipped.append((label, str(exc)))
            continue
        seen[bs.material_id] = label
        images.append(img)
        ids.append(bs.material_id)
        formulas.append(bs.formula)
        if args.png_dir:
            name = (bs.material_id or Path(label).stem).replace("/", "_").replace("\\", "_")
            save_png(img, args.png_dir / f"{name}.png")
    bar.close()
    report.results = ids
    skipped_csv = skipped_path(args.out)
    if report.skipped:
        report.write_skipped(skipped_csv)
        print(f"skipped {len(report.skipped)} input(s):", file=sys.stderr)
        print_skipped(report.skipped)
    else:  # nothing skipped: no list, and none left from an earlier run to be taken for this one's
        skipped_csv.unlink(missing_ok=True)
    if not images:
        print(f"nothing could be rendered; no stack written (reasons in {skipped_csv})", file=sys.stderr)
        return BAD_INPUT
    save_image_stack(args.out, np.stack(images), ids, formulas, settings=settings)
    print(f"wrote {len(images)} image(s) to {args.out}" + (f"; skipped {len(report.skipped)}, listed in "
                                                             f"{skipped_csv}" if report.skipped else ""))
    return BAD_INPUT if report.exit_code else 0
