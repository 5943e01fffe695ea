# gunicorn settings of the Astara router API (unit
# astara-router-api-server), as upstream's ansible template had them, for
# systemd: not daemonized, no pid file, errors to the journal.

bind = '[::]:5000'
# One worker process: the agent keeps the router's configuration in its
# memory (GET /v1/system/config answers from it), and a second process
# would cost about 25 MiB of a 96-128 MiB guest. Four threads: a request
# its client gave up on (the orchestrator's is_alive waits 3 s) does not
# hold up the next one.
workers = 1
worker_class = 'gthread'
threads = 4
# Upstream's 300 s; a configuration push restarts every router service
# through sudo and rootwrap, which on a loaded host under emulation (TCG)
# can take longer, and a worker killed mid-push leaves the router half set.
timeout = 900
backlog = 2048
daemon = False
errorlog = '-'
accesslog = '/var/log/astara/gunicorn_access.log'
