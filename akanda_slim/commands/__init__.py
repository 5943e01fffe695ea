"""Sub-commands of the akanda-slim command line.

Each module here is one sub-command. It defines ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args)``, which returns the exit code.
The command's name is the module's name.
"""
