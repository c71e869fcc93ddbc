/// Module `SafeTensors`: see docs/architecture.md.
