"""The Z3 engines: the shared encoding, Houdini, BMC, induction (N CPUs), param (any N), the re-check."""
