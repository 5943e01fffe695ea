"""Boot an appliance image under QEMU and check that the router works.

``seed`` makes the instance's data with a fresh SSH key (``instance``
lays it out as Nova does: config drive or metadata service answers, served
by ``metadata_server``; or a NoCloud seed), ``network`` the host
side of the external and internal networks (namespaces and taps), ``qemu``
runs the machine, ``ssh`` talks to it, ``checks`` are the router's standard
operations, ``measure`` the figures, ``runner`` ties one image's boots
together and ``compare`` puts two images side by side.
"""
