"""`pytest specs/` runs every spec file as a test item (see slabproof/pytest_plugin.py).

The plugin is loaded here rather than through an entry point, so that it
works from a fresh clone and only when spec directories are collected.
"""


def pytest_addoption(parser, pluginmanager):
    pluginmanager.import_plugin("slabproof.pytest_plugin")
