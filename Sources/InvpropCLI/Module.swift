/// Module `InvpropCLI`: see docs/architecture.md.
