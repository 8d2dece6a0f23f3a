"""The language slabproof's model is stated in: spec files, the expression language, user properties."""
