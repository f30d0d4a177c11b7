"""pytest wiring of the probes lane: options and fixtures only; the work lives in plain modules."""
