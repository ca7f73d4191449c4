"""The picture loader: stills decoded in a thread of their own, worded as the worker words them."""

from __future__ import annotations

import pytest

from alexnet_gui.core.errors import ImageLoadError
from alexnet_gui.core.imaging.decode import display_array, load_image
from alexnet_gui.messages import BytesSource, FileSource
from alexnet_gui.workers.picture_loader import PictureLoader, decode_picture

WAIT_MS = 10_000


@pytest.fixture
def loader(qtbot, qthread_guard):
    pictures = PictureLoader()
    yield pictures
    assert pictures.shutdown()


def test_a_file_is_decoded_off_the_gui_thread(qtbot, loader, chelsea_png):
    with qtbot.waitSignal(loader.picture_ready, timeout=WAIT_MS) as blocker:
        loader.load(7, FileSource(chelsea_png))
    picture = blocker.args[0]
    assert (picture.request_id, picture.name, picture.path) == (7, "chelsea.png", chelsea_png)
    assert (picture.image == display_array(load_image(chelsea_png))).all()


def test_a_broken_file_fails_with_the_decoders_message(qtbot, loader, photo_folder):
    broken = photo_folder / "broken.jpg"
    with pytest.raises(ImageLoadError) as raised:
        load_image(broken)
    with qtbot.waitSignal(loader.picture_failed, timeout=WAIT_MS) as blocker:
        loader.load(3, FileSource(broken))
    failure = blocker.args[0]
    assert (failure.request_id, failure.path, failure.message) == (3, broken, str(raised.value))


def test_bytes_decode_like_files(chelsea_png):
    picture = decode_picture(1, BytesSource(chelsea_png.read_bytes(), "pasted image"))
    assert picture.path is None and picture.image.shape == (300, 451, 3)
