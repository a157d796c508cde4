"""PostgreSQL for icdsite: Django's backend, made to fail fast and recover by itself while the server is down.

``ENGINE = "icdsite.database"`` (set by the settings): see ``base.DatabaseWrapper``.
"""
