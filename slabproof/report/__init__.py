"""How results are shown: text tables, JSON, JUnit, HTML, Mermaid, DOT, plots, Promela, progress."""
