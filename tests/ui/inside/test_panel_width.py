"""The inside panel fits the right-hand dock of a 1280x800 screen (about 300 px) on every tab."""

from __future__ import annotations

from PyQt5.QtWidgets import QTabWidget

from alexnet_gui.ui.inside.panel import InsidePanel

#: What the dock's scroll area leaves for the panel at 1280x800 (284 px measured under Xvfb).
DOCK_ROOM = 284


def test_every_tab_and_sub_tab_fits_the_narrow_dock(qtbot):
    """The feature maps' controls needed 486 px and the Explain tab 439 px: a horizontal
    scroll bar under every control. Each page of each tab must fit without one."""
    panel = InsidePanel()
    qtbot.addWidget(panel)
    tab_widgets = [panel.tabs, *panel.findChildren(QTabWidget)]
    for tabs in tab_widgets:
        for index in range(tabs.count()):
            tabs.setCurrentIndex(index)
            width = panel.minimumSizeHint().width()
            assert width <= DOCK_ROOM, f"{tabs.tabText(index)} needs {width} px"
    assert len(tab_widgets) >= 3  # the panel, the feature maps' Map/Unit, the unit's pictures


def test_the_map_grid_gets_most_of_the_height_first(qtbot):
    """Qt's split followed the size hints and left the grid of maps a 96 px sliver."""
    from alexnet_gui.ui.inside.features_tab import FeaturesTab

    tab = FeaturesTab()
    qtbot.addWidget(tab)
    tab.resize(300, 700)
    tab.show()
    qtbot.waitUntil(lambda: tab.splitter.sizes()[0] > tab.splitter.sizes()[1])
    grid, below = tab.splitter.sizes()
    assert grid >= 1.4 * below


def test_the_unit_page_gets_the_height_to_show_its_picture(qtbot):
    from alexnet_gui.ui.inside.features_tab import FeaturesTab

    tab = FeaturesTab()
    qtbot.addWidget(tab)
    tab.resize(300, 700)
    tab.show()
    qtbot.waitUntil(lambda: tab.splitter.sizes()[0] > tab.splitter.sizes()[1])
    before = tab.splitter.sizes()[1]
    tab.below.setCurrentWidget(tab.unit_page)
    grid, below = tab.splitter.sizes()
    assert below > before and grid >= (grid + below) // 4 - 1
