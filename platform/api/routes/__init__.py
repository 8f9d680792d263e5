"""HTTP routes of the reference platform, one module per resource."""
