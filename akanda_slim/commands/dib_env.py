"""akanda-slim dib-env: the variables disk-image-create needs, as exports.

For running DIB by hand: ``eval "$(akanda-slim dib-env)"`` sets
ELEMENTS_PATH, DIB_RELEASE and the mirrors exactly as ``akanda-slim build``
would.
"""

import shlex

from akanda_slim.dib import image_build

HELP = ('print export lines for disk-image-create: ELEMENTS_PATH, '
        'DIB_RELEASE and the mirrors from the host apt sources')
VARIABLES = ('ELEMENTS_PATH', 'DIB_RELEASE', 'DIB_DISTRIBUTION_MIRROR',
             'DIB_DEBIAN_SECURITY_MIRROR')


def add_arguments(parser):
    parser.add_argument('--release', default=image_build.DEFAULT_RELEASE,
                        help='Debian release codename, checked against '
                             'the mirror (default: %(default)s)')


def run(args):
    image_build.check_release(args.release)
    environment = image_build.dib_environment(args.release)
    for name in VARIABLES:
        print('export %s=%s' % (name, shlex.quote(environment[name])))
    return 0
