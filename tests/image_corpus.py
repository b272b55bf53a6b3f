"""Bad and unusual image files, built in code: the predictor's unit tests and the served image app's
browser test run the same cases. name -> (bytes, expected message regex | check of the decoded image)."""
import io
import struct
import zlib

import numpy as np
from PIL import Image


def _png(im) -> bytes:
    buf = io.BytesIO(); im.save(buf, 'PNG'); return buf.getvalue()


def _save(im, fmt, **kw) -> bytes:
    buf = io.BytesIO(); im.save(buf, fmt, **kw); return buf.getvalue()


def _bomb_png(w=20000, h=20000) -> bytes:
    "A tiny PNG whose header claims a huge image (a decompression bomb)."
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    raw = zlib.compress(b'\x00' * (w // 8 + 1))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0))
            + chunk(b'IDAT', raw) + chunk(b'IEND', b''))


def _bad_corpus():
    good = _png(Image.new('RGB', (40, 40), 'red'))
    return {
        'notes.txt': (b'hello, this is text', 'not an image file'),
        'doc.pdf': (b'%PDF-1.4\n1 0 obj << >> endobj\n%%EOF', 'not an image file'),
        'empty.png': (b'', 'empty'),
        'truncated.png': (good[:len(good) // 2], 'truncated or corrupt'),
        'corrupt.jpg': (b'\xff\xd8\xff\xe0' + b'\x00' * 50, 'truncated or corrupt|not an image'),
        'bomb.png': (_bomb_png(), 'pixels'),
    }


def _unusual():
    rgba = Image.new('RGBA', (32, 32), (0, 0, 0, 0)); rgba.paste((255, 0, 0, 255), (8, 8, 24, 24))
    la = Image.new('LA', (32, 32), (0, 0))
    pal = Image.new('P', (32, 32)); pal.putpalette([0, 0, 255] * 256)
    cmyk = Image.new('CMYK', (32, 32), (0, 255, 255, 0))
    i16 = Image.fromarray(np.full((32, 32), 65535, np.uint16))
    exif_img = Image.new('RGB', (40, 20), 'green'); exif = exif_img.getexif(); exif[0x0112] = 6
    gif = [Image.new('P', (32, 32), i) for i in (1, 2, 3)]
    gif_bytes = io.BytesIO(); gif[0].save(gif_bytes, 'GIF', save_all=True, append_images=gif[1:])
    webp = io.BytesIO(); Image.new('RGB', (32, 32), 'blue').save(webp, 'WEBP', save_all=True,
                                                                    append_images=[Image.new('RGB', (32, 32), 'red')])
    return {
        'rgba': (_png(rgba), lambda im: im.getpixel((0, 0)) == (255, 255, 255) and im.getpixel((16, 16)) == (255, 0, 0)),
        'la': (_png(la), lambda im: im.getpixel((0, 0)) == (255, 255, 255)),
        'palette': (_png(pal), lambda im: im.getpixel((0, 0)) == (0, 0, 255)),
        'grey': (_png(Image.new('L', (32, 32), 128)), lambda im: im.getpixel((0, 0)) == (128, 128, 128)),
        'cmyk': (_save(cmyk, 'JPEG'), lambda im: im.getpixel((0, 0))[0] > 200 and im.getpixel((0, 0))[1] < 60),
        '16bit': (_png(i16), lambda im: im.getpixel((0, 0)) == (255, 255, 255)),
        'exif_rotated': (_save(exif_img, 'JPEG', exif=exif), lambda im: im.size == (20, 40)),
        'animated_gif': (gif_bytes.getvalue(), lambda im: im.size == (32, 32)),
        'animated_webp': (webp.getvalue(), lambda im: im.getpixel((5, 5))[2] > 200),
    }
