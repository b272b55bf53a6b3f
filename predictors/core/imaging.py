"""Safe image decoding: any uploaded bytes become an RGB PIL image or a plain-English error.

Unusual but valid images are converted, not rejected: transparency is composited on white
(as the demo model was trained), palette/greyscale/CMYK/16-bit become RGB, EXIF orientation
is applied, and animations give their first frame.

Memory is counted before decoding: an image's decoded size is known from its header, a JPEG is
decoded at the smallest scale the model can use, each image is shrunk to the working size of the
model that reads it as soon as it is decoded, and the images of all requests of a process decode
within `ImageLimits.decode_memory` together (the others wait their turn). Freed decoding memory
goes back to the system (large blocks are mapped, not kept in the heap).
"""
from __future__ import annotations

import contextlib
import io
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from predictors.core.helpers import byte_size

__all__ = ['ImageLimits', 'BadImage', 'decode_image', 'decoded_bytes', 'to_rgb', 'image_stats']


@dataclass(frozen=True)
class ImageLimits:
    """Limits for one upload; every file over a limit fails alone with a message.

    `max_upload_bytes` stays below the server's websocket message limit (voila.json:
    `websocket_max_message_size`, 128 MiB), which carries all files of one selection.
    Override with the environment: FASTAI_APPS_MAX_IMAGE_BYTES, FASTAI_APPS_MAX_PIXELS,
    FASTAI_APPS_MAX_FILES, FASTAI_APPS_MAX_UPLOAD_BYTES, FASTAI_APPS_DECODE_MEMORY.
    """
    max_bytes: int = 10 * 1024 * 1024          # per file
    max_pixels: int = 40_000_000               # width*height, decompression-bomb guard
    max_files: int = 64                        # per upload
    max_upload_bytes: int = 100 * 1024 * 1024  # all files of one upload together
    decode_memory: int = 512 * 1024 * 1024     # decoded pixels of a process's images at once (all requests)

    @classmethod
    def of(cls, s) -> 'ImageLimits':
        "The limits a process's `Settings` give."
        return cls(max_bytes=s.max_image_bytes, max_pixels=s.max_pixels, max_files=s.max_files,
                   max_upload_bytes=s.max_upload_bytes, decode_memory=s.decode_memory)


class BadImage(ValueError):
    "An input that cannot be used as an image; `str(e)` is the message for the user."


def to_rgb(im: Image.Image) -> Image.Image:
    "Convert any PIL mode to RGB; transparent pixels are composited on white."
    if im.mode.startswith('I;16') or im.mode in ('I', 'F'): im = _to_8bit(im)
    if im.mode == 'P': im = im.convert('RGBA' if 'transparency' in im.info else 'RGB')
    if im.mode in ('LA', 'La', 'PA', 'RGBa'): im = im.convert('RGBA')
    if im.mode == 'RGBA':
        bg = Image.new('RGB', im.size, (255, 255, 255))
        bg.paste(im, mask=im.getchannel('A'))
        return bg
    return im.convert('RGB') if im.mode != 'RGB' else im


def _to_8bit(im: Image.Image) -> Image.Image:
    "A 16-bit, 32-bit or float greyscale image as 8-bit ('L'), a band of rows at a time (no full-size float copy)."
    import numpy as np
    w, h = im.size
    lo, hi = 0.0, 65535.0 if im.mode.startswith('I;16') else 255.0
    if im.mode in ('I', 'F'):
        lo_, hi_ = im.getextrema()
        if im.mode == 'F': lo, hi = float(lo_), float(hi_)
        elif hi_ > 255: hi = 65535.0
    out, band = np.empty((h, w), np.uint8), max(1, (1 << 22) // max(w, 1))
    for top in range(0, h, band):
        a = np.asarray(im.crop((0, top, w, min(h, top + band))), dtype=np.float32)
        out[top:top + len(a)] = ((a - lo) / ((hi - lo) or 1) * 255).clip(0, 255)
    return Image.fromarray(out, 'L')


# bytes a decoded pixel needs in PIL, with the copies made to shrink it (measured): palette and 1-bit images
# become RGB or 8-bit first, 16-bit greyscale 8-bit, transparent ones are premultiplied; other modes take 4
_PIXEL_BYTES = {'1': 2, 'L': 1, 'P': 5, 'I;16': 3, 'I;16B': 3, 'I;16L': 3, 'I;16N': 3, 'LA': 8, 'La': 8, 'PA': 8,
                'RGBA': 8, 'RGBa': 8}
_ORIENT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}


def decoded_bytes(im: Image.Image) -> int:
    "Memory the opened (not yet loaded) image `im` takes once decoded, from its header."
    w, h = im.size
    return w * h * (9 if im.mode == 'P' and 'transparency' in im.info else _PIXEL_BYTES.get(im.mode, 4))


class _DecodeMemory:
    "The decoding memory of this process: a decode waits until its bytes fit beside the others' (or none runs)."

    def __init__(self):
        self._cv, self._used = threading.Condition(), 0

    @contextlib.contextmanager
    def hold(self, n: int, total: int):
        with self._cv:
            self._cv.wait_for(lambda: self._used == 0 or self._used + n <= total)
            self._used += n
        try:
            yield
        finally:
            with self._cv:
                self._used -= n; self._cv.notify_all()


_DECODING = _DecodeMemory()


def _map_large_blocks() -> None:
    """Have glibc map blocks of 8 MB and more and unmap them when freed: by default it raises that threshold
    to the largest block freed (up to 32 MB), after which a big image's memory stays in the heap for good."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').mallopt(-3, 8 << 20)      # M_MMAP_THRESHOLD (Pillow allocates images in 16 MB blocks)
    except (OSError, AttributeError):
        pass                                                # not glibc: its own policy


_map_large_blocks()


def decode_image(data: bytes, name: str = 'file', limits: ImageLimits = ImageLimits(),
                 side: int | None = None) -> Image.Image:
    """Decode `data` into an RGB image, or raise `BadImage` saying plainly what is wrong. With `side`, the
    image comes back no larger than needed for a longest side of `side` (its `info['original_size']` says
    the size it had): a JPEG is decoded at that scale, any other image shrunk as soon as it is decoded."""
    if data is None or len(data) == 0: raise BadImage(f'{name}: the file is empty (0 bytes).')
    if len(data) > limits.max_bytes:
        raise BadImage(f'{name}: the file is {byte_size(len(data))}, over the limit of '
                       f'{byte_size(limits.max_bytes)} per image.')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('error', Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            w, h = im.size
            if w * h > limits.max_pixels:
                raise BadImage(f'{name}: the image is {w}×{h} pixels, over the limit of '
                               f'{limits.max_pixels:,} pixels.')
            if getattr(im, 'n_frames', 1) > 1: im.seek(0)
            if side and im.format == 'JPEG' and min(w, h) > side: im.draft(None, (side, side))
            need = decoded_bytes(im)
            if need > limits.decode_memory:
                raise BadImage(f'{name}: decoding this image would take {byte_size(need)} of memory, over the '
                               f'limit of {byte_size(limits.decode_memory)}.')
            orientation = im.getexif().get(0x0112)
            with _DECODING.hold(need, limits.decode_memory):
                im.load()
                im = _shrunk(im, side)
            if orientation in _ORIENT: im = im.transpose(_ORIENT[orientation])
            im = to_rgb(im)
            im.info['original_size'] = (w, h)
            return im
    except BadImage: raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(f'{name}: the image has too many pixels (a possible decompression bomb).') from None
    except UnidentifiedImageError:
        raise BadImage(f'{name}: this is not an image file that can be read '
                       f'(supported: PNG, JPEG, GIF, WebP, BMP, TIFF).') from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise BadImage(f'{name}: the image is truncated or corrupt, so it cannot be read (open it and save it '
                       'again, or export it anew).') from None    # the decoder's own words say nothing to a person


def _shrunk(im: Image.Image, side: int | None) -> Image.Image:
    "`im` reduced by a whole factor to a longest side of at least `side` (as it is when already small enough)."
    factor = max(im.size) // side if side else 1
    if factor < 2: return im
    if im.mode == '1': im = im.convert('L')
    elif im.mode == 'P': im = im.convert('RGBA' if 'transparency' in im.info else 'RGB')
    elif im.mode.startswith('I;16'): im = _to_8bit(im)
    return im.reduce(factor)


def image_stats(im: Image.Image) -> dict:
    "Small statistics of an image for monitoring: size, aspect ratio, brightness, contrast."
    import numpy as np
    g = np.asarray(im.convert('L'), dtype=np.float32)
    w, h = im.info.get('original_size') or im.size
    return dict(width=w, height=h, aspect=round(w / h, 4), brightness=round(float(g.mean()) / 255, 4),
                contrast=round(float(g.std()) / 255, 4))
