"""`scimrec doctor` (what a target really does, probed) and `scimrec import` (a spec
tree from a live target).
"""
