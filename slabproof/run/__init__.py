"""Running engines on specs: the runner (what passes between engines, the combined verdict, the exit policy),
explain, ipis, the mutant zoo, signals."""
