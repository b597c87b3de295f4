"""Where work runs: local worker processes or Ray tasks, behind one `Executor` interface.

Used by TuneBench campaigns and by `check --batch`; imports nothing else of TuneAhead.
"""
