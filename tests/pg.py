"A throwaway PostgreSQL server for the tests (Debian's postgresql package; `make test` installs it)."
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager

__all__ = ['postgres_server', 'new_database']


def _bin(name):
    found = sorted(glob.glob(f'/usr/lib/postgresql/*/bin/{name}'))
    if not found:
        raise RuntimeError(f'PostgreSQL server programs ({name}) not found: `make test` installs Debian\'s '
                           'postgresql, or `apt-get install postgresql`.')
    return found[-1]


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@contextmanager
def postgres_server():
    "Start a private cluster on a Unix socket in a temporary folder; yield its base URL; stop and delete it."
    d = tempfile.mkdtemp(prefix='fastai-apps-pg-')
    data, port = os.path.join(d, 'data'), _free_port()
    as_user = []
    if os.geteuid() == 0:                     # PostgreSQL refuses to run as root
        as_user = ['runuser', '-u', 'postgres', '--']
        pw = pwd.getpwnam('postgres'); os.chown(d, pw.pw_uid, pw.pw_gid)
    run = lambda *a: subprocess.run(as_user + list(a), check=True, capture_output=True, text=True)
    try:
        run(_bin('initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync')
        run(_bin('pg_ctl'), '-D', data, '-w', '-l', os.path.join(d, 'log'), '-o',
            f"-k {d} -p {port} -c listen_addresses='' -c fsync=off", 'start')
        yield f'postgresql+psycopg://postgres@/postgres?host={d}&port={port}'
    finally:
        subprocess.run(as_user + [_bin('pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def new_database(base_url: str) -> str:
    "Create an empty database on the server; its URL."
    import psycopg
    import sqlalchemy as sa
    url = sa.make_url(base_url)
    name = 't_' + uuid.uuid4().hex[:10]
    with psycopg.connect(dbname='postgres', user='postgres', host=url.query['host'], port=url.query['port'],
                         autocommit=True) as con:
        con.execute(f'CREATE DATABASE {name}')
    return url.set(database=name).render_as_string(hide_password=False)
