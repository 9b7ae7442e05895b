"""JupyterHub for the RealNVP course on one server, set up as The Littlest JupyterHub sets one up: students, TAs
and the instructor are system users who log in with their Unix password, and each gets JupyterLab running as
themselves, started from the hub's own Python environment (the one this hub runs in, /opt/realnvp-hub).

Start it as root: /opt/realnvp-hub/bin/jupyterhub -f /opt/realnvp-hub/etc/jupyterhub/jupyterhub_config.py
The README's "Run the course on a JupyterHub" installs it step by step; tests/test_hub.py runs this file.
"""

import sys
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets defines it when it loads this file)

ENVIRONMENT = Path(sys.prefix)  # the hub's environment: JupyterHub, JupyterLab, nbgrader, the notebook's packages
STATE = ENVIRONMENT / "state"  # the hub's database, cookie secret and the proxy's pid; root only
STATE.mkdir(mode=0o700, exist_ok=True)
# Who may log in: the Unix groups hub/add-users puts students and staff in.
STUDENTS, GRADERS = "realnvp-students", "realnvp-graders"

# Unix passwords, through PAM; only members of the course's groups, so the server's other accounts cannot log in.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENTS, GRADERS}

# Each user's JupyterLab runs as their own Unix user, in their home (mode 700, so no one else reads their work).
# Students' nbgrader reaches the course only through the exchange that hub/everyone/nbgrader_config.py names.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENVIRONMENT / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "PATH": f"{ENVIRONMENT / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    # Every kernel of a class shares the server's cores: one thread each keeps a full room responsive.
    "OMP_NUM_THREADS": "1",
}
c.Spawner.start_timeout = 120  # JupyterLab's first start on a busy server
c.Spawner.http_timeout = 120

c.JupyterHub.bind_url = "http://:80"  # put HTTPS in front, or set c.JupyterHub.ssl_cert and ssl_key
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
# The proxy, pinned in hub/package.json and installed with npm ci into the environment's proxy/ folder.
c.ConfigurableHTTPProxy.command = [str(ENVIRONMENT / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
