"""What the doors add to Voilà's pages: the session watch (a dialog when the page's kernel is gone, answers as
live regions) and the landing page of app cards. Their script and styles are package files in `static/`."""
from __future__ import annotations

import re
from pathlib import Path

from predictors.core.helpers import esc

__all__ = ['SESSION_WATCH', 'LANDING_CSS', 'landing_page', 'page_html']

_STATIC = Path(__file__).resolve().parent / 'static'
# Asks whether the page's kernel still exists: every 15 s and at once when the visitor comes back to
# the page or clicks or types after 2 s of quiet. A kernel that is gone (culled when idle, shut down)
# or a server that does not answer puts a dialog over the dead page with a Reload button. Also makes
# the apps' answers live regions (announced by screen readers), which ipywidgets cannot set itself.
SESSION_WATCH = (_STATIC / 'session_watch.html').read_text()
LANDING_CSS = (_STATIC / 'landing.css').read_text()
_CDN_LINK = re.compile(r'<link[^>]+href="https://cdn\.jsdelivr\.net/[^"]*"[^>]*>\s*')


def page_html(chunk: str) -> str:
    "Voilà's page without its CDN stylesheets (the icons come with Voilà's own bundle), the loading text in plain words."
    return _CDN_LINK.sub('', chunk).replace('`Executing ${cell_index} of ${cell_count}`',
                                            '`Starting the app (step ${cell_index} of ${cell_count})…`')


def landing_page(apps: list[dict]) -> str:
    "The landing page's HTML: a card per app (title, purpose, models), readable from 320 px up, no script."
    cards = ''.join(
        f'<li class="app-card"><h2><a href="{esc(a["href"])}">{esc(a["title"])}</a></h2>'
        f'<p>{esc(a["purpose"])}</p>'
        + (f'<p class="app-models">Model{"s" if len(a["models"]) > 1 else ""}: '
           f'{esc(", ".join(a["models"]))}</p>' if a['models'] else '') + '</li>' for a in apps)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fastai apps</title><link rel="icon" href="data:,">
<style>
{LANDING_CSS}</style></head>
<body><main><h1>fastai apps</h1><p>Choose an app.</p><ul class="app-cards">{cards}</ul></main></body></html>"""
