"""The bytes of a possibly compressed file, in blocks, with a cap on output.

``blocks(path, limit, what)`` yields the content of the regular file
``path`` decompressed by its extension: ``.gz``, ``.bz2``, ``.xz`` and
``.lzma`` in this process, ``.lz4`` and ``.zst`` through apt's
``apt-helper cat-file`` (its output read as it comes, never held whole),
anything else as it is. Neither the file nor its decompressed content may
pass ``limit`` bytes. Every failure (not a regular file, corrupt data,
more than ``limit``, apt-helper failing) is one ``errors.InputError``
naming the file (exit 2).

Memory: one block of output (``BLOCK``) plus the decompressor's state
(gzip 32 KiB, bzip2 under 4 MiB, xz/lzma at most ``XZ_MEMORY``), whatever
the file holds.
"""

import bz2
import gzip
import lzma
import os
import subprocess
import tempfile
import zlib

from akanda_slim.debian import regular_file
from akanda_slim import errors

BLOCK = 1024 * 1024
RAW_BLOCK = 64 * 1024
XZ_MEMORY = 64 * 1024 * 1024
APT_HELPER = '/usr/lib/apt/apt-helper'
THROUGH_APT_HELPER = ('.lz4', '.zst')
_CORRUPT = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


def _open_regular(path, limit, what):
    return regular_file.open_regular(path, os.O_RDONLY, what, limit)


def _raw_blocks(raw, size):
    while True:
        chunk = raw.read(size)
        if not chunk:
            return
        yield chunk


def _streams(raw, make):
    """Output of the bz2/xz decompressor ``make()`` over ``raw``.

    As Python's BZ2File and LZMAFile read: concatenated streams are one,
    trailing data that is no stream is ignored, an empty file is empty;
    each piece is at most BLOCK bytes.
    """
    decompressor = make()
    seen_input = False
    while True:
        if decompressor.eof:
            rest = decompressor.unused_data or raw.read(RAW_BLOCK)
            if not rest:
                return
            decompressor = make()
            try:
                out = decompressor.decompress(rest, BLOCK)
            except (OSError, lzma.LZMAError):
                return
        elif decompressor.needs_input:
            chunk = raw.read(RAW_BLOCK)
            if not chunk:
                if not seen_input:
                    return
                raise EOFError('the data ends before its end-of-stream '
                               'marker')
            seen_input = True
            out = decompressor.decompress(chunk, BLOCK)
        else:
            out = decompressor.decompress(b'', BLOCK)
        if out:
            yield out


def _decompressed(raw, extension):
    if extension == '.gz':
        stream = gzip.GzipFile(fileobj=raw, mode='rb')
        return _raw_blocks(stream, BLOCK)
    if extension == '.bz2':
        return _streams(raw, bz2.BZ2Decompressor)
    if extension in ('.xz', '.lzma'):
        return _streams(raw, lambda: lzma.LZMADecompressor(
            memlimit=XZ_MEMORY))
    return _raw_blocks(raw, BLOCK)


def blocks(path, limit, what='file'):
    """The content of ``path``, decompressed, as blocks of bytes."""
    extension = os.path.splitext(path)[1]
    if extension in THROUGH_APT_HELPER:
        produced = _apt_helper_blocks(path, limit, what)
    else:
        produced = _file_blocks(path, extension, limit, what)
    size = 0
    for block in produced:
        size += len(block)
        if size > limit:
            produced.close()
            raise errors.InputError('%s %s expands past %d MiB; refused'
                                    % (what, path, limit // (1024 * 1024)))
        yield block


def _file_blocks(path, extension, limit, what):
    raw = os.fdopen(_open_regular(path, limit, what), 'rb', buffering=0)
    try:
        yield from _decompressed(raw, extension)
    except _CORRUPT as exc:
        raise errors.InputError('%s %s is not valid %s data: %s' % (
            what, path, extension.lstrip('.') or 'file', exc)) from None
    finally:
        raw.close()


def _apt_helper_blocks(path, limit, what):
    """apt-helper cat-file's output, read as it comes; stopped on close."""
    if not os.path.exists(APT_HELPER):
        raise errors.InputError('cannot read %s %s: %s (apt) is needed to '
                                'decompress it' % (what, path, APT_HELPER))
    os.close(_open_regular(path, limit, what))
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen([APT_HELPER, 'cat-file', path],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=stderr)
        try:
            yield from iter(lambda: child.stdout.read1(BLOCK), b'')
            child.stdout.close()
            if child.wait() != 0:
                raise errors.InputError('%s %s: %s cat-file failed (exit '
                                        '%d): %s' % (
                                            what, path, APT_HELPER,
                                            child.returncode,
                                            _last_line(stderr)))
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()


def _last_line(stream, tail=4096):
    """The last non-empty line of the file ``stream`` (its tail only)."""
    stream.seek(max(0, stream.seek(0, os.SEEK_END) - tail))
    lines = stream.read().decode('utf-8', 'replace').strip().splitlines()
    return lines[-1].strip() if lines else 'no message'
