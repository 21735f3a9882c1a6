"""`hyperasc compile`: a model file in, a tuning script out.

The stages, each a module passing plain data to the next: source (bytes and
notebooks), scanner (handles found with the tokenizer: one Handle record per
handle, which later stages fill in), placeholders (the file with handles
replaced), handles (each handle's distribution), discovery (the model, data
and helpers, read with ast through module_index, with the hyperas rules of
hyperas_compat and module_plan), checks (every check that needs both),
space (names), codegen and bundle (the script), pipeline (the wiring).
"""
