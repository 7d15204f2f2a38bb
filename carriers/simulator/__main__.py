"""``python -m carriers.simulator``: serve the carrier simulator in the foreground."""

from carriers.simulator.server import main

main()
