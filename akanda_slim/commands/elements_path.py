"""akanda-slim elements-path: where this installation's DIB elements are."""

from akanda_slim.dib import image_build

HELP = ('print the directory of the akanda-slim DIB elements (for '
        'ELEMENTS_PATH)')


def add_arguments(parser):
    """No options."""


def run(args):
    print(image_build.find_elements_dir())
    return 0
