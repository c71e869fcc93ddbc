/// Module `Tensors`: see docs/architecture.md.
