"Helpers for the browser tests."
from helpers import ROOT

SHOTS = ROOT / 'docs' / 'screenshots'


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f'{name}.png'), full_page=True)
