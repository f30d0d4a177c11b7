"""pytest wiring of the live lane: options and fixtures only; the work lives in plain modules."""
