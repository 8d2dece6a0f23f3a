"""slabproof: a model checker for the SLAB allocator's IPI argument (Linux v4.11/v4.12).

Layers (see ARCHITECTURE.md): the data (`results`), the model (`model`, `lang`),
the engines (`checker`, and the Z3 engines in `z3`), running them and comparing
with expectations (`run`), the reports (`report`), and the CLI (`cli`).
"""

__version__ = "0.1.0"
