"""The C ABI this package was written for: the one constant that says so.

``Client`` passes it to ``wxa_init_abi``, so a library of another ABI refuses to make a
client (``InvalidArgumentError`` naming both versions) instead of misreading arguments;
the loader can compare it with ``wxa_abi_version()`` before anything else. A module of
its own, importing nothing, so the loader (``_ffi``) and the declarations
(``_bindings``) can both read it without importing each other.
"""

from __future__ import annotations

__all__ = ["ABI_VERSION"]

#: ``WXA_ABI_VERSION`` of the header this package's declarations follow
#: (``tests/test_bindings.py`` compares them).
ABI_VERSION = 1
