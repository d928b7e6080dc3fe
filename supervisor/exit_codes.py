"""The process exit codes of ``ocpp-cp``: a contract with systemd units and operators' scripts."""

EXIT_OK = 0
EXIT_SESSIONS_FAILED = 1
"""``demo --sessions``: a session did not start or stop at the CSMS."""
EXIT_CONFIG = 2
"""A configuration error (one line on stderr naming the file, the key and the rule)."""
EXIT_GAVE_UP = 70
"""The supervisor gave up (restart intensity exceeded; EX_SOFTWARE): systemd restarts us."""
EXIT_HARD_RESET = 75
"""The CSMS asked for a hard reset (EX_TEMPFAIL): systemd starts us again (RestartForceExitStatus)."""
