"""The per-request context: who is calling, their database session and their DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader
from strawberry.types import Info as _Info

from api.accounts.keys import Viewer
from api.db import get_read_sessionmaker, get_sessionmaker
from api.domain.metrics import DEFAULT_THRESHOLDS, TierThresholds
from api.models import Organization
from api.settings import Settings, get_settings


@dataclass
class Context:
    viewer: Viewer
    request: Any = None
    response: Any = None
    settings: Settings = field(default_factory=get_settings)
    _session: Session | None = None
    _loaders: dict[Any, DataLoader[Any, Any]] = field(default_factory=dict)
    # Work to do once the mutation's transaction has committed (e.g. publish to Redis).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    _thresholds: TierThresholds | None = None
    _memo: dict[Any, Any] = field(default_factory=dict)
    # A query (not a mutation): its session only reads (`api.db.get_read_sessionmaker`). Set
    # by the schema's `ReadOnlyQueries` before anything is resolved.
    read_only: bool = False

    @property
    def session(self) -> Session:
        if self._session is None:
            maker = get_read_sessionmaker() if self.read_only else get_sessionmaker()
            self._session = maker()
        return self._session

    def loader(self, key: Any, factory: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        """The request's DataLoader for `key`, created on first use."""
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = factory()
        return found

    def memo(self, key: Any, factory: Callable[[], Any]) -> Any:
        """A value computed once per request (e.g. the roster audience quality compares with)."""
        if key not in self._memo:
            self._memo[key] = factory()
        return self._memo[key]

    def clear_loaders(self) -> None:
        """After a write, later reads in the same request must not see cached rows."""
        self._loaders.clear()
        self._memo.clear()

    def tier_thresholds(self) -> TierThresholds:
        """The organization's tier thresholds (its own, or the defaults), read once a request."""
        if self._thresholds is None:
            org = self.session.get(Organization, self.viewer.organization_id)
            stored = org.tier_thresholds if org else None
            self._thresholds = TierThresholds.from_dict(stored) if stored else DEFAULT_THRESHOLDS
        return self._thresholds

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


Info = _Info[Context, None]
