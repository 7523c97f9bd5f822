"""python -m callerid_dev.bench: run the benchmarks, or print a results file's table."""

from .runner import main

main()
