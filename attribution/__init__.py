"""Pure-Python domain core of the attribution product.

Nothing in this package imports Django, touches a database or the network: frozen dataclasses and
plain functions in, plain values out. Django apps under ``apps/`` call into it.
"""
