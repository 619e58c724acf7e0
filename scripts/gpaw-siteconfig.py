# GPAW build configuration for Debian (serial, libxc + OpenBLAS + FFTW); used by `make gpaw`.
mpi = False
compiler = "gcc"
fftw = True
libraries = ["xc", "blas", "fftw3"]
