/// Module `Evaluation`: see docs/architecture.md.
