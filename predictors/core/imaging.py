"""Safe image decoding: any uploaded bytes become an RGB PIL image or a plain-English error.

Unusual but valid images are converted, not rejected: transparency is composited on white
(as the demo model was trained), palette/greyscale/CMYK/16-bit become RGB, EXIF orientation
is applied, and animations give their first frame.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from predictors.core.helpers import byte_size

__all__ = ['ImageLimits', 'BadImage', 'decode_image', 'to_rgb', 'image_stats']


@dataclass(frozen=True)
class ImageLimits:
    """Limits for one upload; every file over a limit fails alone with a message.

    `max_upload_bytes` stays below the server's websocket message limit (voila.json:
    `websocket_max_message_size`, 128 MiB), which carries all files of one selection.
    Override with the environment: FASTAI_APPS_MAX_IMAGE_BYTES, FASTAI_APPS_MAX_PIXELS,
    FASTAI_APPS_MAX_FILES, FASTAI_APPS_MAX_UPLOAD_BYTES.
    """
    max_bytes: int = 10 * 1024 * 1024          # per file
    max_pixels: int = 40_000_000               # width*height, decompression-bomb guard
    max_files: int = 64                        # per upload
    max_upload_bytes: int = 100 * 1024 * 1024  # all files of one upload together

    @classmethod
    def from_env(cls, env=None) -> 'ImageLimits':
        "The limits of `Settings.from_env(env)`."
        from predictors.core.settings import Settings
        s = Settings.from_env(env)
        return cls(max_bytes=s.max_image_bytes, max_pixels=s.max_pixels, max_files=s.max_files,
                   max_upload_bytes=s.max_upload_bytes)


class BadImage(ValueError):
    "An input that cannot be used as an image; `str(e)` is the message for the user."


def to_rgb(im: Image.Image) -> Image.Image:
    "Convert any PIL mode to RGB; transparent pixels are composited on white."
    if im.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        import numpy as np
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if im.mode.startswith('I;16') or a.max() > 255 else 255.0
        im = Image.fromarray((a / hi * 255).clip(0, 255).astype('uint8'), 'L')
    if im.mode == 'F':
        import numpy as np
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        im = Image.fromarray(((a - lo) / ((hi - lo) or 1) * 255).astype('uint8'), 'L')
    if im.mode == 'P': im = im.convert('RGBA' if 'transparency' in im.info else 'RGB')
    if im.mode in ('LA', 'La', 'PA', 'RGBa'): im = im.convert('RGBA')
    if im.mode == 'RGBA':
        bg = Image.new('RGB', im.size, (255, 255, 255))
        bg.paste(im, mask=im.getchannel('A'))
        return bg
    return im.convert('RGB') if im.mode != 'RGB' else im


def decode_image(data: bytes, name: str = 'file', limits: ImageLimits = ImageLimits()) -> Image.Image:
    "Decode `data` into an RGB image, or raise `BadImage` saying plainly what is wrong."
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
            im.load()
            im = ImageOps.exif_transpose(im) or im
            return to_rgb(im)
    except BadImage: raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(f'{name}: the image has too many pixels (a possible decompression bomb).') from None
    except UnidentifiedImageError:
        raise BadImage(f'{name}: this is not an image file that can be read '
                       f'(supported: PNG, JPEG, GIF, WebP, BMP, TIFF).') from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise BadImage(f'{name}: the image is truncated or corrupt ({e}).') from None


def image_stats(im: Image.Image) -> dict:
    "Small statistics of an image for monitoring: size, aspect ratio, brightness, contrast."
    import numpy as np
    g = np.asarray(im.convert('L'), dtype=np.float32)
    w, h = im.size
    return dict(width=w, height=h, aspect=round(w / h, 4), brightness=round(float(g.mean()) / 255, 4),
                contrast=round(float(g.std()) / 255, 4))
