"""The pure heart: model, attribute vocabulary, target view and mappings, scope, match,
diff, action, prune, guards, the plan and the plan file. No HTTP, no CLI, no clock.
"""
