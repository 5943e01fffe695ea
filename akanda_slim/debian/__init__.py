"""Reading a Debian root: dpkg status, apt state, relations, mirrors."""
