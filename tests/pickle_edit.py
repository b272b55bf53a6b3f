"""Learner files as people have them, written from the committed exports by editing their pickle stream (#24):
names changed (the fastai2 pre-release, a display handle of an older IPython, a metric of another package),
tensors saved on a GPU. Nothing is unpickled to make them: the opcodes are rewritten with their new text."""
import io
import pickletools
import struct
import zipfile
from pathlib import Path

__all__ = ['edit_export', 'rename_globals', 'on_gpu']


def _encode(op, arg) -> bytes | None:
    "The bytes of a text-carrying opcode with a new `arg` (None: not one this editor rewrites)."
    if op.name == 'GLOBAL':
        mod, name = arg.split(' ', 1)
        return b'c' + mod.encode() + b'\n' + name.encode() + b'\n'
    if op.name == 'BINUNICODE': return b'X' + struct.pack('<I', len(arg.encode())) + arg.encode()
    if op.name == 'SHORT_BINUNICODE': return b'\x8c' + bytes([len(arg.encode())]) + arg.encode()
    return None


def edit_pickle(data: bytes, change) -> bytes:
    "`data` with every text opcode's argument `a` replaced by `change(op_name, a)` (unchanged when it returns `a`)."
    ops = list(pickletools.genops(io.BytesIO(data)))
    out, at = [], 0
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        new = change(op.name, arg) if isinstance(arg, str) else arg
        enc = _encode(op, new) if new != arg else None
        if enc is None: continue
        out += [data[at:pos], enc]; at = end
    out.append(data[at:])
    return b''.join(out)


def edit_export(src: Path, dst: Path, change) -> Path:
    "A copy of the torch-saved export `src` at `dst` with its pickle edited by `change` (see `edit_pickle`)."
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith('/data.pkl'): data = edit_pickle(data, change)
            zout.writestr(info, data)
    return dst


def rename_globals(renames: dict):
    "A `change` that renames classes and functions: {'module name': 'new_module new_name'} or {'module.': 'other.'}."
    def change(op, arg):
        if arg in renames: return renames[arg]
        for old, new in renames.items():
            if old.endswith('.') and arg.startswith(old): return new + arg[len(old):]
        return arg
    return change


def on_gpu(op, arg):
    "A `change` that says every tensor was saved on `cuda:0` (the storage location of torch's persistent ids)."
    return 'cuda:0' if arg == 'cpu' else arg
