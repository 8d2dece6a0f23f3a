"""slabproof: a model checker for the SLAB allocator's IPI argument (Linux v4.11/v4.12).

Layers (see ARCHITECTURE.md): the model (`spec`, `expr`, `model`), the engines
(`checker`, and the Z3 engines), the runner that feeds engines and compares
with expectations (`runner`), the reports (`report`), and the CLI (`cli`).
"""

__version__ = "0.1.0"
