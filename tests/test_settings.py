"""Settings: one frozen dataclass, read back from an INI file with explicit conversion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alexnet_gui.settings import (
    RECENT_LIMIT,
    SCHEMA_KEY,
    SCHEMA_VERSION,
    Settings,
    load_settings,
    open_store,
    save_settings,
    settings_path,
)


def test_round_trip_every_field(tmp_path):
    store = open_store(tmp_path / "a.ini")
    original = Settings(device="cpu", topk=3, tta=True, last_folder="/photos",
                        last_model="/m/fruit.pth", recent_files=("/p/one.jpg",),
                        window_geometry=b"\x01\x02geometry", window_state=b"state\x00",
                        splitter_state=b"s", teach_project="/projects/hands")
    save_settings(original, store)
    assert load_settings(open_store(tmp_path / "a.ini")) == original
    assert f"{SCHEMA_KEY}={SCHEMA_VERSION}" in (tmp_path / "a.ini").read_text()
    # QSettings caches files per process: read it back in a fresh one, where all is strings
    code = (
        "import sys; from alexnet_gui.settings import load_settings, open_store; "
        "print(repr(load_settings(open_store(sys.argv[1]))))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.ini")], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == repr(original)


def test_hand_edited_file_is_converted_and_validated(tmp_path):
    path = tmp_path / "b.ini"
    path.write_text(
        "[General]\ndevice=tpu\ntopk=42\ntta=yes\nrecent_files=not json\nlast_folder=/x\n"
    )
    settings = load_settings(open_store(path))
    assert settings.device == "auto"  # unknown device: back to the default
    assert settings.topk == 10  # clamped to the menu's range
    assert settings.tta is True
    assert settings.recent_files == ()  # unreadable: default, and the app still starts
    assert settings.last_folder == "/x"


def test_missing_file_gives_defaults(tmp_path):
    assert load_settings(open_store(tmp_path / "none.ini")) == Settings()


def test_recent_files_first_unique_and_bounded():
    settings = Settings()
    for i in range(RECENT_LIMIT + 3):
        settings = settings.with_recent(f"/p/{i}.jpg")
    settings = settings.with_recent("/p/5.jpg")
    assert settings.recent_files[0] == "/p/5.jpg"
    assert len(settings.recent_files) == RECENT_LIMIT
    assert len(set(settings.recent_files)) == RECENT_LIMIT


def test_default_location_follows_xdg_config_home(isolated_environment):
    assert settings_path() == Path(isolated_environment / "config" / "alexnet-gui" /
                                   "alexnet-gui.ini")


def test_live_settings_round_trip_and_older_files_read_as_defaults(tmp_path):
    store = open_store(tmp_path / "live.ini")
    original = Settings(camera_index=2, mirror=True, loop_video=True, snapshot_folder="/snaps")
    save_settings(original, store)
    assert load_settings(open_store(tmp_path / "live.ini")) == original
    old = tmp_path / "old.ini"  # written before the live fields existed
    old.write_text(f"[General]\n{SCHEMA_KEY}=1\ntopk=3\n")
    settings = load_settings(open_store(old))
    assert settings.topk == 3
    assert (settings.camera_index, settings.mirror, settings.loop_video,
            settings.snapshot_folder) == (0, False, False, "")
    assert Settings(camera_index=-4).camera_index == 0
