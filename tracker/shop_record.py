"""The published record of a shop connection, shared by the API (writer) and the tracker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

SHOPIFY: Final = "SHOPIFY"
STRIPE: Final = "STRIPE"
WOOCOMMERCE: Final = "WOOCOMMERCE"
KINDS: Final = (SHOPIFY, STRIPE, WOOCOMMERCE)


@dataclass(frozen=True, slots=True)
class ShopRecord:
    brand_id: int
    kind: str
    shop_domain: str
    secrets: tuple[tuple[str, str | None], ...]  # (sealed secret, expires_at ISO 8601 or None)

    def to_json(self) -> str:
        return json.dumps(
            {
                "brand_id": self.brand_id,
                "kind": self.kind,
                "shop_domain": self.shop_domain,
                "secrets": [{"sealed": s, "expires_at": e} for s, e in self.secrets],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> ShopRecord:
        """ValueError for anything that is not a record the API wrote."""
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            raise ValueError("not a shop connection record")
        items = data.get("secrets")
        if not isinstance(items, list):
            raise ValueError("shop connection record without secrets")
        return cls(
            brand_id=int(data["brand_id"]),
            kind=str(data["kind"]),
            shop_domain=str(data.get("shop_domain") or ""),
            secrets=tuple(
                (str(i["sealed"]), None if i.get("expires_at") is None else str(i["expires_at"]))
                for i in items
                if isinstance(i, dict) and isinstance(i.get("sealed"), str)
            ),
        )
