"""Refresh the stage results committed under models/book-results/ (elfutils.book.committed_results).

Run it after the atlas store, the model or the analysis code changed, then commit models/book-results/:
    .venv/bin/python scripts/commit_book_results.py --refresh
Nothing is computed or rewritten without ``--refresh``.
"""

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true",
                        help="compute every committed stage that is stale (minutes to an hour on a 2-core "
                             "CPU) and rewrite models/book-results/ with its sha256 manifest")
    args = parser.parse_args()
    if not args.refresh:
        parser.print_help()
        raise SystemExit(2)
    from elfutils.book.committed_results import refresh
    from elfutils.book.pipeline import committed_results_dir

    files = refresh()
    size = sum((committed_results_dir() / f).stat().st_size for f in files)
    print(f"{len(files)} files, {size / 2**20:.1f} MiB in {committed_results_dir()}")


if __name__ == "__main__":
    main()
