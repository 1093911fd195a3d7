"""What selecting a reader already parsed, handed to the open within the same ``Reader()`` call.

``Reader(path)`` sniffs the file (every candidate backend's ``can_open``) and then
opens it with the backend that accepted it. Both read the same header, first IFD
and description. A *scope* spans one ``Reader()`` call (entered by the reader's
metaclass around ``__new__`` and ``__init__``): what a sniff offers inside it --
for example the open :class:`~scitiff_readers._ifd.IfdChain` of the first IFD --
the open may take, instead of opening and parsing the file a second time.

This is a hand-over, not a cache: nothing outlives the call. Whatever is offered
and not taken is released (its ``close`` called) when the scope ends, so no file
handle stays open. Every offer carries the file's :func:`~scitiff_readers._filecache.file_stamp`
taken before it was read, and is handed over only for the same stamp: a file
changed between the sniff and the open is read again.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Offers", "active", "enter", "leave", "offer", "take"]

#: The offers of one scope: ``(kind, key) -> (stamp, value)``.
Offers = dict[tuple[str, str], tuple[Any, Any]]


class _Scopes(threading.local):
    def __init__(self) -> None:
        # One dict of offers per open scope (a backend may build another reader inside
        # its open: that inner call has a scope of its own).
        self.stack: list[Offers] = []


_scopes = _Scopes()


def enter() -> Offers:
    """Open a scope in this thread; pass what it returns to :func:`leave`."""
    offers: Offers = {}
    _scopes.stack.append(offers)
    return offers


def leave(offers: Offers) -> None:
    """Close the scope :func:`enter` opened, releasing every offer not taken."""
    stack = _scopes.stack
    for i in range(len(stack) - 1, -1, -1):  # the last one: scopes nest
        if stack[i] is offers:
            del stack[i]
            break
    while offers:
        _release(offers.popitem()[1][1])


def active() -> bool:
    """Whether a scope is open in this thread (an offer would be kept)."""
    return bool(_scopes.stack)


def offer(kind: str, key: str, stamp: Any, value: Any) -> bool:
    """Offer ``value`` (about file ``key`` as it was at ``stamp``) to the open of this scope.

    Returns ``False`` (the caller keeps ``value`` and releases it) when no scope is
    open or ``stamp`` is ``None`` (a file without a stamp cannot be shown unchanged).
    A second offer of the same kind and key replaces (and releases) the first.
    """
    stack = _scopes.stack
    if not stack or stamp is None:
        return False
    offers = stack[-1]
    previous = offers.get((kind, key))
    offers[(kind, key)] = (stamp, value)
    if previous is not None:
        _release(previous[1])
    return True


def take(kind: str, key: str, stamp: Any) -> Any:
    """The value offered for ``kind`` / ``key`` in this scope if the file still has ``stamp``, else ``None``.

    A value offered for another stamp (the file changed) is released, not returned.
    """
    stack = _scopes.stack
    if not stack or stamp is None:
        return None
    entry = stack[-1].pop((kind, key), None)
    if entry is None:
        return None
    if entry[0] != stamp:
        _release(entry[1])
        return None
    return entry[1]


def _release(value: Any) -> None:
    close = getattr(value, "close", None)
    if close is not None:
        close()


#: The kind of offer of a resolved local path (key ``""``, stamp: the argument given).
LOCATION = "location"
