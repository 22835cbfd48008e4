"""`python -m hopthu`: the same command line as `hopthu`."""

from hopthu.cli import main

main()
