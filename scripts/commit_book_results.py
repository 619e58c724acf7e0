"""Refresh the stage results committed under models/book-results/ (elfutils.book.committed_results).

Run it after the atlas store, the model or the analysis code changed, then commit models/book-results/:
    .venv/bin/python scripts/commit_book_results.py
"""

from elfutils.book.committed_results import refresh
from elfutils.book.pipeline import committed_results_dir

if __name__ == "__main__":
    files = refresh()
    size = sum((committed_results_dir() / f).stat().st_size for f in files)
    print(f"{len(files)} files, {size / 2**20:.1f} MiB in {committed_results_dir()}")
