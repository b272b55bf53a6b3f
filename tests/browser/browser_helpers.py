"Helpers for the browser tests."
import io

from helpers import ROOT

SHOTS = ROOT / 'docs' / 'screenshots'


def shot(page, name):
    """Save the README's screenshot of this page (or of one element: a locator); an old one that looks the same (same size, at most
    0.5% of the pixels changed: anti-aliasing, a temporary path) is kept, so the files change only
    when the apps do."""
    import numpy as np
    from PIL import Image
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f'{name}.png'
    png = page.screenshot(full_page=True) if hasattr(page, 'goto') else page.screenshot()
    if path.exists():
        old, new = (np.asarray(Image.open(f).convert('RGB'), dtype=np.int16) for f in (path, io.BytesIO(png)))
        if old.shape == new.shape and (np.abs(old - new).max(-1) > 8).mean() <= 0.005: return
    path.write_bytes(png)
