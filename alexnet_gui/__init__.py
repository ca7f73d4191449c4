"""alexnet-gui: look at images and video through AlexNet."""

__version__ = "0.1.0"
APP_NAME = "AlexNet GUI"
ORG_NAME = "alexnet-gui"
