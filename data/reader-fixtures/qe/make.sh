#!/usr/bin/env bash
# Real Quantum ESPRESSO 6.7 fixtures (Debian's quantum-espresso) for h-BN (2dm-4991), the material of the
# GPAW fixtures beside this folder: pseudopotentials generated here with QE's own atomic code ld1.x (PBE,
# Troullier-Martins norm-conserving; no pseudopotential library can be downloaded on the project's machines),
# then pw.x scf + bands along our 2D k-path. Run from this folder: bash make.sh  (~20 s on one core)
set -euo pipefail
export OMP_NUM_THREADS=1
for el in B N; do ld1.x < $el.ld1.in > $el.ld1.out; done
../../../.venv/bin/python write_pw_inputs.py          # scf.in, bands.in (ASE's espresso writer, our k-path)
pw.x -in scf.in > scf.out
pw.x -in bands.in > bands.out
cp tmp/hbn.save/data-file-schema.xml 2dm-4991.data-file-schema.xml
rm -rf tmp B.ld1.out N.ld1.out
