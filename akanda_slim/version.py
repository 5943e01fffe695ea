"""The installed version of akanda-slim."""

import pbr.version

_info = pbr.version.VersionInfo('akanda-slim')


def version_string():
    try:
        return _info.version_string()
    except Exception:  # not installed: running from a source tree
        return '0.0.0.dev0'
