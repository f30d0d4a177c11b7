"""Ingress controller models: one module per controller, behind one interface (``base.IngressController``).

``registry.resolve`` picks the model(s) for an Ingress from its class; ``registry.load_controllers`` finds
every module of this package, so adding a controller is one new file here (and its test).
"""
