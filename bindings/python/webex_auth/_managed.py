"""Owned native handles: ``close()``, context manager, ``__del__``.

A subclass implements ``_release(handle)``; this base makes closing idempotent and
thread-safe and turns use after close into ``ClientClosedError``. It knows nothing of
events or operations.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Generic, Optional, Type, TypeVar

from ._errors import ClientClosedError

__all__ = ["Managed"]

H = TypeVar("H")
S = TypeVar("S", bound="Managed[Any]")


class Managed(ABC, Generic[H]):
    """Base class for an object owning one native handle."""

    _handle: Optional[H] = None

    def __init__(self, handle: H) -> None:
        self._handle = handle
        self._close_lock = threading.Lock()

    @abstractmethod
    def _release(self, handle: H) -> None:
        """Frees ``handle``; called once, by ``close()``."""

    @property
    def closed(self) -> bool:
        """``True`` once ``close()`` has begun."""
        return self._handle is None

    def _ptr(self) -> H:
        handle = self._handle
        if handle is None:
            raise ClientClosedError(f"this {type(self).__name__} is closed")
        return handle

    def close(self) -> None:
        """Release the native handle. Idempotent; safe from any thread."""
        lock = getattr(self, "_close_lock", None)
        if lock is None:  # __init__ never ran
            return
        with lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._release(handle)

    def __enter__(self: S) -> S:
        self._ptr()  # entering a closed object is an error
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
