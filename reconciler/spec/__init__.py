"""Step 2 on the source side: YAML in, a validated `Spec` out, with a line and column for
every problem; the JSON Schema of spec files and the `init` starter tree.
"""
