"""The store: SQLAlchemy models, migrations, and how the database is opened."""

from offhook.store.database import Store, StoreError

__all__ = ["Store", "StoreError"]
