"""The verification page: one table of checks with a pass/fail mark and a remedy for each failure."""
from __future__ import annotations

from .common import APP_CSS, esc, message

__all__ = ['checks_table']


def checks_table(rows: list[dict]) -> str:
    "HTML for check rows (check, ok, detail, remedy), with a one-line verdict on top."
    failed = [r for r in rows if not r['ok']]
    head = (message(f'All {len(rows)} checks passed: this setup can serve the apps.', 'ok', 'app-verdict')
            if not failed else
            message(f'{len(failed)} of {len(rows)} checks failed: see the remedy next to each ✘ below.', 'err',
                    'app-verdict'))
    body = ''.join(
        f'<tr class="{"app-pass" if r["ok"] else "app-fail"}"><td style="font-size:16px">{"✔" if r["ok"] else "✘"}</td>'
        f'<td>{esc(r["check"])}</td><td>{esc(r["detail"])}</td><td>{esc(r["remedy"])}</td></tr>' for r in rows)
    return (APP_CSS + head + '<table class="app-table app-checks"><tr><th></th><th>check</th><th>found</th>'
            f'<th>remedy</th></tr>{body}</table>')
