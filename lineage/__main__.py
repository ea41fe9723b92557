"""Run the command line as ``python -m lineage``."""

from lineage.cli import main

main()
