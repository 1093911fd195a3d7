"""Render a real file with the plugin in napari offscreen and save the screenshot (docs/_static).

Run under an X server for OpenGL, e.g. ``xvfb-run -a python plugins/napari/screenshot.py PATH OUT.png``
(``nox -s napari_screenshot`` does this for the docs image).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(path: str, out: str) -> None:
    """Open ``path`` with the plugin in an offscreen napari window and save its screenshot as ``out``."""
    import imageio.v3 as iio
    import napari
    import npe2

    npe2.PluginManager.instance().discover()
    viewer = napari.Viewer(show=False)
    viewer.window._qt_window.resize(1100, 700)
    viewer.open(path, plugin="scitiff-readers-napari")
    viewer.scale_bar.visible = True
    viewer.scale_bar.colored = True
    viewer.scale_bar.position = "bottom_left"  # the right edge clips the unit
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=False, flash=False)
    viewer.close()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out, shot)
    print(f"{out}: {shot.shape}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
