"""Files akanda-slim ships beside its Python package: elements, bindep.txt.

In a source tree (or an editable install) they sit at the top of the tree;
a wheel installs them as data files under ``PREFIX/share/akanda-slim``
(setup.cfg's ``[files] data_files``).
"""

import os
import sys
import sysconfig

# akanda_slim/dib/shipped_files.py -> the tree holding akanda_slim/
SOURCE_TREE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHARE = os.path.join('share', 'akanda-slim')


def candidates(name):
    """Paths where ``name`` may be: the source tree, then installed data."""
    found = [os.path.join(SOURCE_TREE, name)]
    for prefix in (sys.prefix, sysconfig.get_paths()['data'], '/usr/local',
                   '/usr'):
        path = os.path.join(prefix, SHARE, name)
        if path not in found:
            found.append(path)
    return found
