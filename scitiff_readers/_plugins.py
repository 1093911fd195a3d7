"""A generic, lazily discovered entry-point registry (used for readers and writers).

Entry points are read the first time a registry is used, never at import. A
plugin that fails to load, or that is not a subclass of the expected base, is
skipped with a :class:`PluginLoadWarning` naming it; a duplicate name warns and the
first registration wins. ``register`` adds classes in-process (tests, notebooks).
"""

from __future__ import annotations

import threading
import warnings

# At runtime on purpose: Sphinx evaluates the annotations of the public methods, and an
# unresolved `Mapping[str, PluginInfo[T]]` makes it look `T` up as a name (an ambiguous link).
from dataclasses import dataclass
from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from ._plugincache import Declaration, cache_enabled, load_declarations, module_stamp, store_declarations
from .errors import PluginLoadWarning

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from importlib import metadata

__all__ = ["PluginInfo", "PluginRegistry"]

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class PluginInfo(Generic[T]):
    """One registered plugin class and where it comes from."""

    name: str
    cls: T
    distribution: str | None
    version: str | None
    origin: str  # "entry point" or "runtime"
    entry_point: str | None = None

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Suffixes the class claims."""
        return tuple(getattr(self.cls, "suffixes", ()))

    @property
    def priority(self) -> int:
        """Selection priority of the class."""
        return int(getattr(self.cls, "priority", 0))


class _DeclaredEntryPoint(NamedTuple):
    """A remembered entry point, loaded without :mod:`importlib.metadata`.

    Importing ``importlib.metadata`` (with the email, zipfile and csv modules it
    pulls in) costs 10-20 ms of a fresh process; a remembered declaration already
    says which ``module:attribute`` to import. ``dist`` is ``None``: the
    distribution and version come from the declaration.
    """

    name: str
    value: str
    group: str
    dist: None = None

    def load(self) -> Any:
        """Import the module and return the attribute, as ``EntryPoint.load`` does."""
        target = self.value.split("[", 1)[0]  # extras ("[name]") do not change what loads
        module_name, _, attrs = target.partition(":")
        value: Any = import_module(module_name.strip())
        for attr in filter(None, attrs.strip().split(".")):
            value = getattr(value, attr)
        return value


class PluginRegistry(Generic[T]):
    """Plugins of one entry-point group whose values must be subclasses of ``base``."""

    def __init__(self, group: str, base: type, kind: str) -> None:
        self.group = group
        self.base = base
        self.kind = kind
        self._lock = threading.RLock()
        self._discovered: dict[str, PluginInfo[T]] | None = None
        self._loaded_one: dict[str, PluginInfo[T] | None] = {}
        self._scanned: list[metadata.EntryPoint] | None = None
        self._runtime: dict[str, PluginInfo[T]] = {}
        self._declared: list[Declaration] | None = None

    def _entry_points(self) -> list[metadata.EntryPoint]:
        from importlib import metadata

        return list(metadata.entry_points(group=self.group))

    def _remembers(self) -> bool:
        # Replaced entry points (tests, embedding applications) are never remembered.
        return "_entry_points" not in vars(self)

    def declarations(self) -> list[Declaration]:
        """Name, suffixes and priority of every entry-point plugin, importing as few as possible.

        From the remembered declarations (:mod:`scitiff_readers._plugincache`) when they are
        up to date; otherwise every plugin is imported once and the result remembered.
        In-process registrations are not included (see :meth:`runtime`).
        """
        with self._lock:
            if self._declared is None:
                stored = load_declarations(self.group) if self._remembers() else None
                if stored is None:
                    stored = [self._declare(info) for info in self._discovered_infos().values()]
                    if self._remembers():
                        store_declarations(self.group, stored)
                self._declared = stored
            return list(self._declared)

    @staticmethod
    def _declare(info: PluginInfo[T]) -> Declaration:
        file, mtime = module_stamp(info.cls.__module__)
        return Declaration(
            info.name,
            info.entry_point or "",
            info.distribution,
            info.version,
            info.suffixes,
            info.priority,
            file,
            mtime,
        )

    def runtime(self) -> Mapping[str, PluginInfo[T]]:
        """Plugins registered in this process (they shadow entry points of the same name)."""
        with self._lock:
            return MappingProxyType(dict(self._runtime))

    def load_declared(self, decl: Declaration) -> PluginInfo[T] | None:
        """Import the plugin of one declaration (``None``, with a warning, if it is broken)."""
        with self._lock:
            if self._discovered is not None and decl.name in self._discovered:
                return self._discovered[decl.name]
            if decl.name not in self._loaded_one:
                info = self._load(_DeclaredEntryPoint(decl.name, decl.value, self.group))
                if info is not None:
                    info = PluginInfo(
                        info.name, info.cls, decl.distribution, decl.version, info.origin, info.entry_point
                    )
                self._loaded_one[decl.name] = info
            return self._loaded_one[decl.name]

    def _remembered(self, name: str) -> Declaration | None:
        """The up-to-date remembered declaration of the one plugin named ``name``, if any."""
        if self._declared is None and self._remembers():
            self._declared = load_declarations(self.group)
        found = [d for d in self._declared or () if d.name == name]
        return found[0] if len(found) == 1 else None

    def _scan(self) -> list[metadata.EntryPoint]:
        """The group's entry points, read once (reading them costs milliseconds)."""
        if self._scanned is None:
            self._scanned = self._entry_points()
        return self._scanned

    def _load(self, ep: metadata.EntryPoint | _DeclaredEntryPoint) -> PluginInfo[T] | None:
        """Import one entry point; warn and return None if it is broken."""
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        label = (
            f"{self.kind} plugin {ep.name!r} ({ep.value}"
            + (f", distribution {dist_name}" if dist_name else "")
            + ")"
        )
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - any plugin failure must be isolated
            warnings.warn(
                f"scitiff_readers: the {label} failed to load and is skipped: {type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=5,
            )
            return None
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            warnings.warn(
                f"scitiff_readers: the {label} is not a subclass of "
                f"{self.base.__module__}.{self.base.__name__} and is skipped",
                PluginLoadWarning,
                stacklevel=5,
            )
            return None
        declared = getattr(cls, "name", ep.name) or ep.name
        if declared != ep.name:
            warnings.warn(
                f"scitiff_readers: the {label} declares name {declared!r}; registering it as {ep.name!r}",
                PluginLoadWarning,
                stacklevel=5,
            )
        return PluginInfo(ep.name, cls, dist_name, version, "entry point", ep.value)  # type: ignore[arg-type]  # cls is checked above to be a subclass of self.base (T); issubclass cannot narrow to a TypeVar

    def _discover(self) -> dict[str, PluginInfo[T]]:
        found: dict[str, PluginInfo[T]] = {}
        for ep in self._scan():
            if ep.name in found:
                first = found[ep.name]
                warnings.warn(
                    f"scitiff_readers: two {self.kind} plugins are named {ep.name!r}: "
                    f"{first.entry_point} ({first.distribution}) and {ep.value}; keeping the first",
                    PluginLoadWarning,
                    stacklevel=4,
                )
                continue
            info = self._loaded_one.get(ep.name) or self._load(ep)
            if info is not None:
                found[ep.name] = info
        return found

    def _discovered_infos(self) -> dict[str, PluginInfo[T]]:
        if self._discovered is None:
            self._discovered = self._discover()
        return self._discovered

    def all(self) -> Mapping[str, PluginInfo[T]]:
        """Every plugin, entry points first, then in-process registrations."""
        with self._lock:
            merged = dict(self._discovered_infos())
            for name, info in self._runtime.items():
                merged[name] = info
            return MappingProxyType(merged)

    def refresh(self) -> None:
        """Forget discovered entry points; the next use scans them again."""
        with self._lock:
            self._discovered = None
            self._loaded_one.clear()
            self._scanned = None
            self._declared = None

    def register(self, cls: T, *, name: str | None = None, clobber: bool = False) -> None:
        """Register ``cls`` in this process under ``name`` (default ``cls.name``)."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"{cls!r} is not a subclass of {self.base.__name__}")
        key = name or getattr(cls, "name", "")
        if not key:
            raise ValueError(f"{cls.__name__} has no name; set the class attribute 'name'")
        with self._lock:
            if key in self.all() and not clobber:
                raise ValueError(f"a {self.kind} named {key!r} is already registered; pass clobber=True")
            self._runtime[key] = PluginInfo(key, cls, None, None, "runtime")

    def unregister(self, name: str) -> None:
        """Remove an in-process registration (entry points come back on refresh)."""
        with self._lock:
            self._runtime.pop(name, None)

    def get(self, name: str) -> PluginInfo[T] | None:
        """The plugin named ``name``, or ``None``; imports only that plugin if it can."""
        with self._lock:
            if name in self._runtime:
                return self._runtime[name]
            if self._discovered is not None:
                return self._discovered.get(name)
            if name not in self._loaded_one:
                decl = self._remembered(name)
                if decl is not None:
                    # Reading every distribution's entry points costs 10-30 ms of a cold
                    # start; the remembered declaration names the one to import.
                    return self.load_declared(decl)
                if self._remembers() and cache_enabled():
                    # Nothing remembered yet (a fresh install, an upgrade): scan and import
                    # every plugin once, as a sniff would, so the next process naming its
                    # reader skips the scan too.
                    self.declarations()
                    return self.all().get(name)
                matches = [ep for ep in self._scan() if ep.name == name]
                if len(matches) != 1:
                    # Unknown or duplicated: full discovery gives the right warnings.
                    return self.all().get(name)
                self._loaded_one[name] = self._load(matches[0])
            return self._loaded_one[name]

    def require(self, name: str, not_found: Callable[[str], Exception]) -> T:
        """The class registered as ``name``; else raise ``not_found(installed)``.

        ``installed`` lists the installed names (``"a, b"``, or ``"none"``) for the message.
        """
        info = self.get(name)
        if info is None:
            raise not_found(", ".join(sorted(self.all())) or "none")
        return info.cls

    def __repr__(self) -> str:
        return f"PluginRegistry(group={self.group!r}, names={list(self.all())})"


def describe(value: Any) -> str:
    """A short ``module:Class`` label for messages."""
    return f"{getattr(value, '__module__', '?')}:{getattr(value, '__qualname__', value)}"
