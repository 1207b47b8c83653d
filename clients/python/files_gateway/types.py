"""The model classes of the resource layer, for annotations and isinstance:

    from files_gateway.types import User, AsyncUser, File

    def greet(user: User) -> str:
        return "hello " + user.username

Generated from the protos (files_gateway/_gen/typed.pyi declares each one's
fields and per-object actions); a class is made the first time it is asked for.
"""
from typing import TYPE_CHECKING

from files_gateway._gen.typed import *  # noqa: F401,F403  (the typed stubs' names)

if not TYPE_CHECKING:
    def __getattr__(name):
        from files_gateway._gen import typed
        return getattr(typed, name)
