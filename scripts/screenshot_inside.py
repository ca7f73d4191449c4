"""Take ``docs/screenshot-inside.png``: the main window on chelsea with "Inside the network" open.

The real window, worker and panel, driven the way a user would: show the panel, pick the feature
maps of a layer, open the picture, click the strongest map, put its overlay on the main picture.
Settings go to a temporary folder, so the user's own are never touched. Run it under Xvfb::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot_inside.py \\
        --weights random-untrained-alexnet.pth

``--weights`` is any AlexNet state_dict; the README's pictures use a random, untrained one (the
ImageNet weights cannot be shipped in the repository), made with ``torch.manual_seed(0)`` and
``torch.save(torchvision.models.alexnet().state_dict(), PATH)``. The Explain tab's picture
(``--tab explain --method ...``) needs a trained model instead, whose evidence means something:
``docs/screenshot-explain.png`` was taken with a Fashion-MNIST checkpoint from
``benchmarks/train_fashion_mnist.py`` (see the README).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PyQt5.QtCore import QPoint, Qt, QTimer  # noqa: E402
from PyQt5.QtTest import QTest  # noqa: E402
from PyQt5.QtWidgets import QDockWidget  # noqa: E402

from alexnet_gui.app import build_gui, create_application  # noqa: E402
from alexnet_gui.settings import open_store  # noqa: E402
from alexnet_gui.ui.inside.panel import DOCK_NAME, InsidePanel  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--image", type=Path, default=REPO / "resources/samples/chelsea.jpg")
    parser.add_argument("--layer", default="relu1")
    parser.add_argument("--out", type=Path, default=REPO / "docs/screenshot-inside.png")
    parser.add_argument("--tab", choices=("kernels", "features", "explain", "input"),
                        default="features")
    parser.add_argument("--method", default="gradcam", help="the Explain tab's method")
    parser.add_argument("--explain-layer", help="the layer a CAM method reads (default relu5)")
    parser.add_argument("--patch", type=int, help="occlusion patch, pixels of the model input")
    parser.add_argument("--stride", type=int, help="occlusion stride")
    parser.add_argument("--size", default="1600x900", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args()
    app = create_application()
    with tempfile.TemporaryDirectory() as folder:
        gui = build_gui(store=open_store(Path(folder) / "settings.ini"))
        width, height = (int(v) for v in args.size.split("x"))
        gui.window.resize(width, height)
        gui.window.show()
        dock = gui.window.findChild(QDockWidget, DOCK_NAME)
        panel = gui.window.findChild(InsidePanel)
        dock.show()
        gui.window.resizeDocks([dock], [620], Qt.Horizontal)
        gui.window.resizeDocks([gui.window.folder_dock], [1], Qt.Vertical)
        gui.window.folder_dock.hide()
        tabs = {"kernels": panel.kernels, "features": panel.features, "explain": panel.gradcam,
                "input": panel.model_input}
        panel.tabs.setCurrentWidget(tabs[args.tab])
        panel.on_main.setChecked(args.tab == "explain")
        explain = panel.gradcam
        explain.method.setCurrentIndex(explain.method.findData(args.method))
        explain.patch.setValue(args.patch or explain.patch.value())
        explain.stride.setValue(args.stride or explain.stride.value())
        gui.inside.slow.explanation_shown.connect(lambda: QTimer.singleShot(600, save))
        state = {"clicked": False, "saved": False, "code": 1}

        def on_painted(views: object) -> None:
            features = views.network.features
            if args.tab == "explain" and args.explain_layer and (
                    explain.layer.currentData() != args.explain_layer):
                explain.layer.setCurrentText(args.explain_layer)  # filled from the first result
                return
            if args.tab != "features" or features is None:
                if args.tab != "explain" or views.gradcam is not None:
                    QTimer.singleShot(600, save)
                return
            if features.layer != args.layer:  # the list is filled from the first result
                panel.features.layer.setCurrentText(args.layer)
                return
            if not state["clicked"]:  # click the strongest map, as a user would
                state["clicked"] = True
                position = int(features.means[list(features.order)].argmax())
                x, y = features.geometry.origin(position)
                grid = panel.features.grid
                point = grid.widget_pos(x + features.geometry.tile_width / 2,
                                        y + features.geometry.tile_height / 2)
                QTest.mouseClick(grid, Qt.LeftButton, pos=QPoint(int(point.x()), int(point.y())))
                panel.on_main.setChecked(True)
            elif views.channel is not None:
                QTimer.singleShot(600, save)  # let the window paint first

        def save() -> None:
            if state["saved"]:
                return
            state["saved"] = True
            ok = gui.window.grab().save(str(args.out), "PNG")
            print(("saved " if ok else "could not save ") + str(args.out))
            state["code"] = 0 if ok else 1
            gui.window.close()

        panel.views_painted.connect(on_painted)
        gui.start(files=[str(args.image)], weights=str(args.weights))
        QTimer.singleShot(120_000, gui.window.close)  # never hang a CI job
        app.exec_()
    return state["code"]


if __name__ == "__main__":
    raise SystemExit(main())
