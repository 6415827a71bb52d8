"""Creator risk: the facts (`loader`) and the stored scores (`recompute`); the rules are in
`api.domain.risk`."""
