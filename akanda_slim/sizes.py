"""Sizes as people read them."""


def mib(kib):
    """``kib`` KiB (None counts as 0) as text: ``'12.5 MiB'``."""
    return '%.1f MiB' % ((kib or 0) / 1024.0)
