"""The product catalogue held in memory, reloaded when its version in the database moves.

Every replica checks the version (one tiny query) inside the transaction that decides, so
a product loaded through any replica is seen by all of them from the next decision on.
"""

from __future__ import annotations

import asyncio

from yibao.db import DbConnection

from tracecode_validator import repository as repo
from tracecode_validator.domain.catalogue import Catalogue


class CatalogueCache:
    """The current `Catalogue`, rebuilt from the products table on change."""

    def __init__(self) -> None:
        self._version = -1
        self._catalogue = Catalogue()
        self._lock = asyncio.Lock()

    async def get(self, conn: DbConnection) -> Catalogue:
        """The catalogue as of this transaction's view of the version."""
        return await self.at(conn, await repo.catalogue_version(conn))

    async def at(self, conn: DbConnection, version: int) -> Catalogue:
        """The catalogue of a version the caller has already read in its transaction."""
        if version != self._version:
            async with self._lock:
                if version != self._version:
                    self._catalogue = Catalogue(await repo.load_products(conn))
                    self._version = version
        return self._catalogue
