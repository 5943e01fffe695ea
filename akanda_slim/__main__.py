import sys

from akanda_slim import cli

sys.exit(cli.main())
