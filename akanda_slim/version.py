"""The installed version of akanda-slim, as pbr computed it at install."""

import pbr.version

_info = pbr.version.VersionInfo('akanda-slim')


def version_string():
    """The full version (``0.0.1.dev39``), equal to the installed one."""
    try:
        return _info.release_string()
    except Exception:  # not installed: running from a source tree
        return '0.0.0.dev0'
