"""Compiled page templates shared by every page a door renders (#29).

Voilà makes a new nbconvert exporter, so a new Jinja environment, for each page, and Jinja compiles the page's
templates (index, base, display priority…) into Python anew in each: ~100 ms of the door's CPU a visitor, the
larger part of its share of a page. `share_compiled_templates` gives those environments one in-memory cache of
compiled code: each template is compiled once per door process (again if its file changes: Jinja checks the source's
checksum), and a page only runs it.
"""
from __future__ import annotations

import jinja2

__all__ = ['MemoryBytecodeCache', 'share_compiled_templates']


class MemoryBytecodeCache(jinja2.BytecodeCache):
    "Jinja's compiled templates kept in this process's memory as code objects (no marshalling on each page)."

    def __init__(self):
        self._code: dict[tuple, object] = {}

    def get_bucket(self, environment, name, filename, source):
        bucket = jinja2.bccache.Bucket(environment, self.get_cache_key(name, filename), self.get_source_checksum(source))
        bucket.code = self._code.get(self._key(bucket))     # None: Jinja compiles it, then `set_bucket`
        return bucket

    def set_bucket(self, bucket):
        self._code[self._key(bucket)] = bucket.code

    @staticmethod
    def _key(bucket) -> tuple:
        "The template, its source, and what its compiled code depends on in the environment (shared by many)."
        env = bucket.environment
        return bucket.key, bucket.checksum, env.is_async, tuple(sorted(env.extensions)), env.autoescape

    def load_bytecode(self, bucket): pass           # (get_bucket and set_bucket do it all)

    def dump_bytecode(self, bucket): pass

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
