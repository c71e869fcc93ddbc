/// Module `Methods`: see docs/architecture.md.
