"""Every rendering of a plan or a drift report: text, JSON, markdown (the PR comment),
GitHub annotations and step summary, and `--explain`.
"""
