"""Errors whose message is written for the person using the app.

Every failure caused by input (a file, a checkpoint, a download, a camera) is raised as one of
these, with a one-line message that the UI shows and the CLI prints to stderr. Anything else is a
bug and keeps its traceback.
"""


from pathlib import PurePath


def without_name(message: str, path: PurePath) -> str:
    """``"x.jpg: empty"`` -> ``"empty"``: for a message shown beside the file's name already."""
    prefix = f"{path.name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


class UserFacingError(Exception):
    """A failure the user caused or can fix; ``str(error)`` is one readable line."""

    def __str__(self) -> str:
        text = super().__str__()
        return " ".join(text.split())


class ImageLoadError(UserFacingError):
    """A file or buffer could not be turned into an RGB image."""


class WeightsError(UserFacingError):
    """A weights file or checkpoint is missing, unreadable, unsafe or does not fit."""


class WeightsNotFoundError(WeightsError):
    """The ImageNet weights are not on this machine yet."""


class DownloadError(UserFacingError):
    """A download failed, was cut off, was cancelled or did not match its hash."""


class DatasetError(UserFacingError):
    """A training or evaluation folder cannot be used."""


class VideoSourceError(UserFacingError):
    """A camera or video file cannot be opened or stopped delivering frames."""
