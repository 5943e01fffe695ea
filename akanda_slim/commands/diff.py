"""akanda-slim diff: what changed between two images' package sets."""

import json
import sys

from akanda_slim.footprint import package_diff

HELP = ('compare two image reports or target roots: packages added, '
        'removed, changed, biggest size impact first')


def add_arguments(parser):
    parser.add_argument('a', help='old side: NAME.slim.json or a root')
    parser.add_argument('b', help='new side: NAME.slim.json or a root')
    parser.add_argument('--json', action='store_true',
                        help='print the diff as JSON')


def run(args):
    result = package_diff.compare(args.a, args.b)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write('\n')
    else:
        print(package_diff.diff_text(result))
    return 0
