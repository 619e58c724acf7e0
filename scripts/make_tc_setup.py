"""Generate the missing technetium PAW setup and dzp basis for GPAW (gpaw-data ships neither).

Tc sits between Mo and Ru, which gpaw-data does ship; GPAW's own generator table leaves Tc out only because
it is radioactive ("#'Tc': Radioactive" in gpaw/atom/configurations.py). We run the same generator with
parameters halfway between its Mo and Ru entries ([Ar]3d core, semicore 4s4p in valence, 5p empty state),
write ``Tc.PBE`` and ``Tc.dzp.basis`` and gzip them into ``data/gpaw-setups/``, which elfutils.dft.recipe puts
first on
GPAW's setup path. Run: ``make tc-setup`` (= ``--write``; a minute), or ``--out DIR`` to write them elsewhere.
"""

import argparse
import gzip
import shutil
import tempfile
from pathlib import Path

PARAMETERS = {  # mean of GPAW's Mo and Ru generator parameters
    "core": "[Ar]3d",
    "rcut": [2.38, 2.44, 2.41],
    "vbar": ("f", 2.38),
    "rcutcomp": 2.30,
    "filter": (0.60, 1.655),
    "empty_states": "5p",
}


def main(out_dir: Path) -> None:
    from gpaw.atom import basis as basis_module
    from gpaw.atom.basis import BasisMaker

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.chdir(tmp)
        basis_module.parameters["Tc"] = PARAMETERS  # the generator's table, in this process only
        maker = BasisMaker.from_symbol("Tc", xc="PBE", save_setup=True)
        basis = maker.generate(zetacount=2, polarizationcount=1)
        basis.write_xml()
        for name in ("Tc.PBE", "Tc.dzp.basis"):
            with open(name, "rb") as src, gzip.open(out_dir / f"{name}.gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            print("wrote", out_dir / f"{name}.gz")


def cli(argv=None) -> int:
    committed = Path(__file__).resolve().parent.parent / "data/gpaw-setups"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--write", action="store_true", help=f"rewrite the committed files in {committed}")
    target.add_argument("--out", type=Path, metavar="DIR", help="write them into DIR instead")
    args = parser.parse_args(argv)
    if not (args.write or args.out):
        parser.print_help()
        return 2
    main((committed if args.write else args.out).resolve())  # main changes into a temporary folder
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
