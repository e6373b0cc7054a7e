# Sourced by the container scripts: sets `engine` to PAYMESH_ENGINE, or to the first of
# podman and docker that answers (a docker client without a daemon does not count), or
# leaves it empty when none does — each script says what that means for it.
engine=${PAYMESH_ENGINE:-}
if [[ -z "$engine" ]]; then
  for candidate in podman docker; do
    if command -v "$candidate" >/dev/null && "$candidate" info >/dev/null 2>&1; then
      engine=$candidate
      break
    fi
  done
fi
