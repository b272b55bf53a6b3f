"""App kernels forked from the door's warm fork server (`predictors.web.forks`, #29): each is a real, separate
kernel with the environment, folder and hooks Jupyter would have given it, and it ends like one."""
import asyncio
import os
import signal

import psutil
import pytest

from helpers import run_async
from predictors.web.forks import ForkProvisioner, Forked, ForkServer
from predictors.web.kernels import ThisPython

CHECK = '''
import os, json, sys
from ipykernel.kernelapp import IPKernelApp
import widgets                    # imported by the fork server before this kernel existed
k = IPKernelApp.instance().kernel
print(json.dumps(dict(pid=os.getpid(), cwd=os.getcwd(), mark=os.environ.get('FORK_TEST_MARK'),
                      guarded=getattr(k.shell_handlers['comm_msg'], 'guarded', False),
                      targets=sorted(k.comm_manager.targets), path0=sys.path[0])))
'''


async def _kernel(fork=True, cwd=None, env=None):
    from jupyter_client.manager import AsyncKernelManager
    ksm = ThisPython(); ksm.fork = fork
    km = AsyncKernelManager(kernel_spec_manager=ksm, kernel_name='python3')
    await km.start_kernel(cwd=str(cwd) if cwd else None, env=dict(os.environ, **(env or {})))
    kc = km.client(); kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    return km, kc


async def _run(kc, code) -> str:
    out = []
    reply = await kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m['content'].get('text', ''))
                                         if m['msg_type'] == 'stream' else None)
    assert reply['content']['status'] == 'ok', reply['content']
    return ''.join(out)


def test_a_forked_kernel_is_a_kernel_of_its_own_with_what_jupyter_gives_it(tmp_path):
    import json

    async def scenario():
        km, kc = await _kernel(cwd=tmp_path, env={'FORK_TEST_MARK': 'visitor-7'})
        try:
            assert isinstance(km.provisioner, ForkProvisioner) and isinstance(km.provisioner.process, Forked)
            got = json.loads(await _run(kc, CHECK))
            p = psutil.Process(got['pid'])
            assert got['pid'] == km.provisioner.pid != os.getpid()
            assert 'predictors.web.forks' in ' '.join(p.parent().cmdline())          # forked, not started anew
            assert f'predictors.web.kernel -f {km.connection_file}' in ' '.join(p.cmdline())    # and shows what it is
            assert os.getpgid(got['pid']) == got['pid']                              # in its own process group
            assert (got['cwd'], got['path0'], got['mark']) == (str(tmp_path), str(tmp_path), 'visitor-7')
            assert got['guarded'], "the widget guard was not installed in the forked kernel"
            assert {'jupyter.widget', 'jupyter.widget.control'} <= set(got['targets'])
            # a second kernel is another process, with its own state
            km2, kc2 = await _kernel(env={'FORK_TEST_MARK': 'visitor-8'})
            other = json.loads(await _run(kc2, CHECK))
            assert other['pid'] != got['pid'] and other['mark'] == 'visitor-8'
            await _run(kc, 'x = 41'); await _run(kc2, 'x = 1')
            assert (await _run(kc, 'print(x + 1)')).strip() == '42'
            kc2.stop_channels(); await km2.shutdown_kernel(now=True)
        finally:
            kc.stop_channels(); await km.shutdown_kernel(now=True)
        assert km.provisioner is None or km.provisioner.process is None
        assert not psutil.pid_exists(got['pid']) or psutil.Process(got['pid']).status() == psutil.STATUS_ZOMBIE
    run_async(scenario())


def test_a_killed_forked_kernel_is_seen_dead_and_a_dead_fork_server_is_replaced():
    async def scenario():
        km, kc = await _kernel()
        pid = km.provisioner.pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not await km.is_alive(): break
            await asyncio.sleep(0.1)
        assert not await km.is_alive(), 'a killed kernel still looks alive'
        kc.stop_channels(); await km.shutdown_kernel(now=True)
        # the fork server itself dies: the next kernel still starts (a new fork server)
        server = ForkServer._instance
        old = server.proc.pid
        server.proc.kill(); server.proc.wait(10)
        km, kc = await _kernel()
        try:
            assert (await _run(kc, 'print(6 * 7)')).strip() == '42'
            assert server.proc.pid != old and isinstance(km.provisioner.process, Forked)
        finally:
            kc.stop_channels(); await km.shutdown_kernel(now=True)
    run_async(scenario())


def test_fork_off_starts_kernels_as_new_processes():
    async def scenario():
        km, kc = await _kernel(fork=False)
        try:
            assert not isinstance(km.provisioner.process, Forked)
            assert (await _run(kc, 'print(6 * 7)')).strip() == '42'
            assert 'predictors.web.kernel' in ' '.join(psutil.Process(km.provisioner.pid).cmdline())
        finally:
            kc.stop_channels(); await km.shutdown_kernel(now=True)
    run_async(scenario())


@pytest.fixture(autouse=True, scope='module')
def _stop_fork_server():
    yield
    if ForkServer._instance is not None: ForkServer._instance.close()


def test_a_fork_servers_folder_goes_with_it_and_one_left_by_a_killed_door_is_swept(tmp_path):
    "A fork server that ends removes its folder; `sweep` removes the folders of doors that are gone, only those."
    import subprocess
    import sys
    from predictors.web.forks import FOLDER, sweep

    async def scenario():
        km, kc = await _kernel()
        kc.stop_channels(); await km.shutdown_kernel(now=True)
        server = ForkServer._instance
        folder = server.folder
        assert folder.name.startswith(f'{FOLDER}{os.getpid()}-') and (folder / 'socket').exists()
        server.close()
        assert not folder.exists()
        km, kc = await _kernel()                      # the next kernel starts a fork server again, in its folder
        try:
            assert (await _run(kc, 'print(6 * 7)')).strip() == '42' and (folder / 'socket').exists()
        finally:
            kc.stop_channels(); await km.shutdown_kernel(now=True)
        server.proc.terminate(); server.proc.wait(10)   # as its door's process group is stopped (SIGTERM)
        assert not folder.exists()
    run_async(scenario())
    dead = subprocess.Popen([sys.executable, '-c', 'pass']); dead.wait()
    for name in (f'{FOLDER}{dead.pid}-x1', f'{FOLDER}{os.getpid()}-x2', f'{FOLDER}legacy', 'other'):
        (tmp_path / name).mkdir()
    assert sweep(str(tmp_path)) == [tmp_path / f'{FOLDER}{dead.pid}-x1']
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f'{FOLDER}{os.getpid()}-x2', f'{FOLDER}legacy', 'other'])
