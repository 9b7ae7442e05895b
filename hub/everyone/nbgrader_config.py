"""nbgrader's settings for every user of the hub: where the exchange is and which course it serves.

It goes in the hub environment's etc/jupyter/ (/opt/realnvp-hub/etc/jupyter/nbgrader_config.py), where the
Assignments panel of every user's JupyterLab reads it. A student needs nothing else; the staff's own
~/.jupyter/nbgrader_config.py (written by hub/add-graders) adds the course root.
"""

c = get_config()  # noqa: F821 (traitlets defines it when it loads this file)

# One exchange for the server; nbgrader release_assignment makes realnvp-course/ in it, with an inbound
# folder students may write to but not list, and feedback names derived from each submission's secret.
c.Exchange.root = "/srv/nbgrader/exchange"
c.CourseDirectory.course_id = "realnvp-course"
