"""pytest wiring of the reports lane: options and fixtures only; the work lives in plain modules."""
