"""Band-structure figures drawn by the project itself, for the figure reader's tests (issue #33).

    .venv/bin/python scripts/make_figure_fixtures.py --write   # a few seconds; rewrites data/figure-fixtures/

Each figure is drawn from one of our own records (a 2Dmatpedia file or a material of the GPAW store) the ways
papers draw band structures: plain matplotlib in several looks (black or coloured lines, spins in two colours
and dashes, a dashed E_F line, a grid, a title, a legend; 100–150 dpi; a JPEG at quality 75; a window of
±2 eV; a path drawn Γ-M-K-Γ against our Γ-K-M-Γ; a zero drawn mid-gap) and one by pymatgen's ``BSPlotter``.
``fixtures.json`` beside them says, per figure, what it was drawn from and how (the truth the tests compare
against): the source record, the energy window on the axis, where the figure's zero lies relative to the
record's (project) zero, and the path as drawn.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STORE = "data/bands/gpaw-pbe.elfstore"
JSON_1 = "data/2dmatpedia-dft-bands/2dm-1.json"

# name -> how it is drawn; "source" is a file, or STORE:<id>
FIXTURES = {
    "2dm-1-plain.png": dict(source=JSON_1, dpi=120, window=(-4, 4), look="plain"),
    "2dm-22-midgap-grid.png": dict(source=f"{STORE}:2dm-22", dpi=150, window=(-4, 4), look="grid",
                                   zero="midgap"),
    "2dm-25-spins.png": dict(source=f"{STORE}:2dm-25", dpi=100, window=(-4, 4), look="spins"),
    "2dm-104-q75.jpg": dict(source=f"{STORE}:2dm-104", dpi=130, window=(-4, 4), look="plain"),
    "2dm-34-2ev.png": dict(source=f"{STORE}:2dm-34", dpi=150, window=(-2, 2), look="colour"),
    "2dm-21-gmkg.png": dict(source=f"{STORE}:2dm-21", dpi=120, window=(-4, 4), look="plain", reverse=True),
    "2dm-1-bsplotter.png": dict(source=JSON_1, dpi=60, window=(-4, 4), look="bsplotter"),
}


def load(source: str):
    """The record a fixture is drawn from, with the project's energy zero."""
    from elfutils.data.readers import read_band_file
    from elfutils.data.store import BandStore

    if ":" in source:
        store, mid = source.split(":")
        return BandStore(ROOT / store).get(mid)
    return read_band_file(ROOT / source)


def _label(label: str) -> str:
    from elfutils.data.bands import GAMMA_LABELS

    if label in GAMMA_LABELS:
        return r"$\Gamma$"
    head, _, sub = label.partition("_")
    return f"${head}_{{{sub}}}$" if sub else label


def draw(bs, spec: dict, out: Path) -> dict:
    """Draw one record the way ``spec`` says; returns its manifest entry."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rel = bs.relative_energies()  # (ns, nb, nk) relative to the project zero
    shift = 0.0  # the figure's zero, relative to the record's zero
    if spec.get("zero") == "midgap":
        below, above = rel[rel <= 0], rel[rel > 0]
        shift = float((below.max() + above.min()) / 2)
    branches = list(bs.branches)
    reverse = bool(spec.get("reverse"))
    if reverse:
        branches = branches[::-1]
    lo, hi = spec["window"]
    colours = {"plain": ("black", "black"), "grid": ("tab:blue", "tab:blue"),
               "spins": ("tab:blue", "tab:red"), "colour": ("tab:green", "tab:green")}[spec["look"]]
    fig, ax = plt.subplots(figsize=(5, 3.8), dpi=spec["dpi"])
    for s in range(bs.nspin):
        for j, b in enumerate(branches):
            idx = np.arange(b.start, b.end + 1)
            if reverse:
                idx = idx[::-1]
            x = j + np.linspace(0, 1, len(idx))
            lines = ax.plot(x, rel[s][:, idx].T - shift, color=colours[s], lw=1.2, ls="-" if s == 0 else "--")
            if j == 0:
                lines[0].set_label("spin up" if s == 0 else "spin down")
    labels = [branches[0].end_label if reverse else branches[0].start_label]
    labels += [b.start_label if reverse else b.end_label for b in branches]
    for j in range(1, len(branches)):
        ax.axvline(j, color="black", lw=0.8)
    ax.axhline(0, color="gray", lw=0.8, ls="--")
    ax.set_xlim(0, len(branches))
    ax.set_ylim(lo, hi)
    ax.set_xticks(range(len(branches) + 1), [_label(label) for label in labels])
    ax.set_ylabel(r"$E - E_\mathrm{F}$ (eV)")
    if spec["look"] == "grid":
        ax.grid(True)
        ax.set_title(f"{bs.formula} (PBE)")
    if spec["look"] == "spins":
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    options = {"pil_kwargs": {"quality": 75}} if out.suffix == ".jpg" else {}
    fig.savefig(out, dpi=spec["dpi"], **options)
    plt.close(fig)
    return {"shift_ev": shift, "drawn_path": labels}


def draw_bsplotter(bs, spec: dict, out: Path) -> dict:
    """pymatgen's BSPlotter on the 2Dmatpedia file itself (x = k-distance, zero = E_F for this metal)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine
    from pymatgen.electronic_structure.plotter import BSPlotter

    data = json.loads((ROOT / spec["source"]).read_text())
    pmg = BandStructureSymmLine.from_dict(data)
    assert abs(pmg.efermi - bs.efermi) < 1e-9, "BSPlotter's zero is the file's E_F: use a metal"
    ax = BSPlotter(pmg).get_plot(ylim=spec["window"])
    ax.figure.savefig(out, dpi=spec["dpi"])
    plt.close(ax.figure)
    return {"shift_ev": 0.0, "drawn_path": [b.start_label for b in bs.branches] + [bs.branches[-1].end_label]}


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, spec in FIXTURES.items():
        bs = load(spec["source"])
        drawn = (draw_bsplotter if spec["look"] == "bsplotter" else draw)(bs, spec, out / name)
        manifest[name] = {"source": spec["source"], "material_id": bs.material_id,
                          "window_ev": spec["window"], "dpi": spec["dpi"], "look": spec["look"], **drawn}
        print(f"{name}: {(out / name).stat().st_size} bytes")
    (out / "fixtures.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    total = sum(f.stat().st_size for f in out.iterdir())
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="draw the figures and rewrite fixtures.json")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "figure-fixtures",
                        help="where to draw them (default: the committed data/figure-fixtures)")
    args = parser.parse_args()
    if not args.write:
        parser.print_help()
        raise SystemExit(2)
    raise SystemExit(main(args.out))
