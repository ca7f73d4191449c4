# The double-click app (PyInstaller), included by the Makefile: `include scripts/bundle.mk`.
# Uses PY and STAMP from the Makefile. Switches: ALEXNET_GUI_CONSOLE=1, ALEXNET_GUI_DEBUG=1,
# ALEXNET_GUI_CPU_ONLY=1 (see build.spec and scripts/bundle_config.py).
BUNDLE_DIR := dist/alexnet-gui

.PHONY: bundle bundle-test icons

# One folder, dist/alexnet-gui/ (and on macOS "dist/AlexNet GUI.app"); build/ keeps PyInstaller's
# cache between builds (make clean removes both).
bundle: $(STAMP)
	$(PY) -m PyInstaller --noconfirm build.spec
	du -sh $(BUNDLE_DIR)

# Builds, then runs the built executable headless: classify --json with random weights, info,
# and the window offscreen until its first result (scripts/bundle_test.py). Not part of `make test`.
bundle-test: bundle
	$(PY) scripts/bundle_test.py --dist $(BUNDLE_DIR)

# Redraws the derived icons (ico, icns, 512 px PNG) from resources/icons/alexnet-gui.png.
icons: $(STAMP)
	$(PY) scripts/make_icons.py
