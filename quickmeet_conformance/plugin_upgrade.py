"""pytest wiring of the upgrade lane: options and fixtures only; the work lives in plain modules."""
