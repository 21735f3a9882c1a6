"""`hyperasc compile`: a model file in, a tuning script out.

The stages, each a module passing plain data to the next: source (bytes and
notebooks), scanner (handles found with the tokenizer), handles (each
handle's distribution), discovery and hyperas_compat (the model, data and
helpers, read with ast), space (names and checks), codegen and bundle (the
script), pipeline (the wiring).
"""
