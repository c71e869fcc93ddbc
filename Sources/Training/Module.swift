/// Module `Training`: see docs/architecture.md.
