# gunicorn settings of the Astara router API (unit
# astara-router-api-server), as upstream's ansible template had them, for
# systemd: not daemonized, no pid file, errors to the journal.

import sys

# The agent never uses eventlet; rootwrap's daemon client imports it only to
# learn whether sockets are monkey-patched (here they are not), which would
# cost the worker about 14 MiB. The worker inherits this from the master.
sys.modules['eventlet'] = None

bind = '[::]:5000'
# One worker: the agent keeps the router's configuration in the worker's
# memory (GET /v1/system/config answers from it), and a second worker would
# cost about 25 MiB of a 96-128 MiB guest.
workers = 1
worker_class = 'sync'
# Upstream's 300 s; a configuration push restarts every router service
# through sudo and rootwrap, which on a loaded host under emulation (TCG)
# can take longer, and a worker killed mid-push leaves the router half set.
timeout = 900
backlog = 2048
daemon = False
errorlog = '-'
accesslog = '/var/log/astara/gunicorn_access.log'
