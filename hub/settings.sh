# Where the hub's pieces live; hub/setup-course, hub/add-students and hub/add-graders read these, and each
# can be set in the environment first (the tests put everything under a temporary folder).
HUB_ENVIRONMENT="${HUB_ENVIRONMENT:-/opt/realnvp-hub}"    # the Python environment of hub/requirements.txt
COURSE_ROOT="${COURSE_ROOT:-/srv/nbgrader/realnvp-course}" # a clone of this repository, owned by the instructor
EXCHANGE_ROOT="${EXCHANGE_ROOT:-}"                          # empty: hub/everyone/nbgrader_config.py's
STUDENTS=realnvp-students
GRADERS=realnvp-graders

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run me as root (sudo): I create users and groups and set folders' owners"
[ -x "$HUB_ENVIRONMENT/bin/jupyterhub" ] || die "no hub environment at $HUB_ENVIRONMENT (see the README, step 1)"

# Run a command as NAME, in their home, with the hub environment's commands first on PATH.
as_user() {
    local name="$1"; shift
    runuser -u "$name" -- env HOME="$(getent passwd "$name" | cut -d: -f6)" \
        PATH="$HUB_ENVIRONMENT/bin:/usr/local/bin:/usr/bin:/bin" "$@"
}
