# Writes scf.in and bands.in for h-BN (2dm-4991): our slab geometry and 2D k-path, ASE's espresso writer.
import numpy as np
from ase.io import write
from elfutils.data.dataset import structure_records
from elfutils.dft.recipe import slab_atoms, structure_from_record, ase_bandpath
from elfutils.data.kpath import kpath_2d
s = structure_from_record(structure_records()["2dm-4991"])
atoms = slab_atoms(s, 6.0)
pp = {"B": "B.pbe-tm-elf.UPF", "N": "N.pbe-tm-elf.UPF"}
common = {"control": {"pseudo_dir": ".", "outdir": "./tmp", "prefix": "hbn"},
          "system": {"ecutwfc": 60, "occupations": "smearing", "smearing": "fd", "degauss": 0.0037, "assume_isolated": "2D"}}
write("scf.in", atoms, format="espresso-in", input_data={**common, "control": {**common["control"], "calculation": "scf"}},
      pseudopotentials=pp, kpts=(9, 9, 1))
kp = kpath_2d(s)
bp = ase_bandpath(atoms.cell, kp)
write("bands.in", atoms, format="espresso-in", input_data={**common, "control": {**common["control"], "calculation": "bands"},
      "system": {**common["system"], "nbnd": 12}}, pseudopotentials=pp, kpts=bp)
print(len(kp.kpoints), bp.path)
