"""One module per cluster provider (``--cluster`` value); each registers its class with ``register_provider``."""
