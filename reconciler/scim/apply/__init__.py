"""Step 5 on apply: performs a plan's changes on the target, phase by phase, and nothing else."""
