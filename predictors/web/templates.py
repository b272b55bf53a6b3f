"""Compiled page templates shared by every page a door renders (#29).

Voilà makes a new nbconvert exporter, so a new Jinja environment, for each page, and Jinja compiles the page's
templates (index, base, display priority…) into Python anew in each: ~100 ms of the door's CPU a visitor, the
larger part of its share of a page. `share_compiled_templates` gives those environments one in-memory bytecode
cache: each template is compiled once per door process (again if its file changes: Jinja checks the source's
checksum), and a page only runs it.
"""
from __future__ import annotations

import jinja2

__all__ = ['MemoryBytecodeCache', 'share_compiled_templates']


class MemoryBytecodeCache(jinja2.BytecodeCache):
    "Jinja's compiled templates kept in this process's memory (a few hundred KB for Voilà's templates)."

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self._code.get(bucket.key)
        if code is not None: bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()

    def clear(self): self._code.clear()


def share_compiled_templates() -> MemoryBytecodeCache:
    "Make every Voilà page's Jinja environment in this process use one `MemoryBytecodeCache`; the cache."
    from voila.exporter import VoilaExporter
    shared = VoilaExporter.__dict__.get('_shared_bytecode')
    if shared is not None: return shared
    made = VoilaExporter.environment

    def environment(self):
        env = made.fget(self)
        env.bytecode_cache = VoilaExporter._shared_bytecode
        return env
    VoilaExporter._shared_bytecode = MemoryBytecodeCache()
    VoilaExporter.environment = property(environment)
    return VoilaExporter._shared_bytecode
