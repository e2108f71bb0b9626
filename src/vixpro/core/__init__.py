"""Pure rules with no I/O: plans and limits, roles, and later the state machines."""
