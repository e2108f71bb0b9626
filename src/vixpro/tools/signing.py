"""The platform's signing key: made once, private half sealed under the master key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from vixpro_agent.protocol import signing

from vixpro.db.models import PlatformKey
from vixpro.sealed import seal, unseal

PURPOSE = "hostagent-signing"
_CONTEXT = b"vixpro:platform-key:" + PURPOSE.encode()


class PlatformSigner:
    """Signs manifests and configs. Loaded once per process from the system session."""

    def __init__(self, private_key: signing.PrivateKey) -> None:
        self._key = private_key
        self.public_pem = signing.public_pem(private_key)

    def sign(self, body: Any) -> dict[str, Any]:
        return signing.sign_document(self._key, body)

    @classmethod
    async def load(cls, session: AsyncSession, master_key: bytes) -> PlatformSigner:
        """Load the key, making it on first use (system session; safe under concurrency)."""
        row = await session.scalar(select(PlatformKey).where(PlatformKey.purpose == PURPOSE))
        if row is None:
            fresh = signing.generate_private_key()
            await session.execute(
                insert(PlatformKey)
                .values(
                    purpose=PURPOSE,
                    public_pem=signing.public_pem(fresh),
                    private_encrypted=seal(master_key, signing.private_pem(fresh), _CONTEXT),
                )
                .on_conflict_do_nothing(index_elements=[PlatformKey.purpose])
            )
            row = await session.scalar(select(PlatformKey).where(PlatformKey.purpose == PURPOSE))
            assert row is not None
        private = signing.load_private_pem(unseal(master_key, row.private_encrypted, _CONTEXT))
        return cls(private)
