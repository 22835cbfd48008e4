"""Time-based rules of the regulation, carried out by themselves (R5.1, R5.2, R6.4b, R6.5, R6.3):
a scheduler inside `hopthu serve` that runs each job once per period on one node, and the jobs."""
