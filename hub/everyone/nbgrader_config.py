"""nbgrader's settings for every user of the hub: where the exchange is.

hub/setup-course copies it into the hub environment's etc/jupyter/ (/opt/realnvp-hub/etc/jupyter/), where the
Assignments panel of every user's JupyterLab reads it, and adds the course's id from the course's own
nbgrader_config.py. A student needs nothing else; the staff's ~/.jupyter/nbgrader_config.py (written by
hub/add-graders) adds the course root.
"""

c = get_config()  # noqa: F821 (traitlets defines it when it loads this file)

# One exchange for the server; nbgrader release_assignment makes realnvp-course/ in it, with an inbound
# folder students may write to but not list, and feedback names derived from each submission's secret.
c.Exchange.root = "/srv/nbgrader/exchange"
