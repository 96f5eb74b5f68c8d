"""One module per provider: raw webhook or list-API payload -> typed records (see records.py)."""
