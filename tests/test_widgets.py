"View-side checks that need no browser: the drop zone re-validates what a client sends."
from widgets.dropzone import DropZone


def _received(zone, content, buffers):
    got = []
    zone.on_upload(lambda files, rejected: got.append((files, rejected)))
    zone._receive(zone, content, buffers)
    return got[0]


def test_forged_upload_message_is_checked_again_on_the_server():
    zone = DropZone(max_bytes=10, max_total_bytes=15, max_files=2)
    files, rejected = _received(zone, {'event': 'upload', 'files': [
        {'name': '../../etc/passwd'}, {'name': 'big.png'}, {'name': 'b.png'}, {'name': 'c.png'}]},
        [memoryview(b'x' * 5), memoryview(b'y' * 11), memoryview(b'z' * 5), memoryview(b'w' * 1)])
    assert files == [('passwd', b'x' * 5), ('b.png', b'z' * 5)]
    assert [r[0] for r in rejected] == ['big.png', 'c.png']


def test_browser_side_rejections_are_reported_and_other_messages_ignored():
    zone = DropZone()
    files, rejected = _received(zone, {'event': 'upload', 'files': [], 'rejected': [
        {'name': 'C:\\\\photos\\\\huge.png', 'size': 2 ** 30, 'reason': 'over the limit'}]}, [])
    assert files == [] and rejected == [('huge.png', 2 ** 30, 'over the limit')]
    got = []
    zone.on_upload(lambda *a: got.append(a))
    zone._receive(zone, {'event': 'something else'}, [])
    zone._receive(zone, 'not a dict', [])
    assert got == []
