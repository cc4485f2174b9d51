# Helpers of the api_*.sh tests (sourced after engine_init; .bash, so that
# ctest does not take it for a test): a `berth
# serve` on this test's store and socket, and the clients pointed at it.

# start_serve : berth serve on $API_SOCK (under $E2E_TMP), stopped at exit.
start_serve() {
  API_SOCK=$E2E_TMP/api.sock
  "$BERTH" --root "$ROOT" --state "$STATE" serve -H "unix://$API_SOCK" >"$E2E_TMP/serve.log" 2>&1 &
  SERVE_PID=$!
  on_exit kill_pid_bounded "$SERVE_PID" 5
  wait_for_socket "$API_SOCK" 10
  export DOCKER_HOST=unix://$API_SOCK DOCKER_CONFIG=$E2E_TMP/docker-config
  mkdir -p "$DOCKER_CONFIG"
}

stop_serve() {
  kill_pid_bounded "$SERVE_PID" 5
  [[ ! -S $API_SOCK ]] || fail "serve left its socket behind"
}

# d ARGS... : the docker CLI against berth serve (bounded).
d() { timeout 60 docker "$@"; }

# api METHOD PATH [CURL ARGS...] : the raw API; prints "STATUS BODY".
api() {
  local m=$1 p=$2; shift 2
  curl -sS --unix-socket "$API_SOCK" -X "$m" -o "$E2E_TMP/api.body" -w '%{http_code}' "$@" "http://berth$p"
  printf ' %s' "$(cat "$E2E_TMP/api.body")"
}

# assert_run_rm_streams DOCKER_FN : `docker run --rm` through DOCKER_FN (a
# function running the docker CLI against berth serve) keeps the
# container's stdout, stderr and exit code apart.
assert_run_rm_streams() {
  local d=$1 rc=0 out
  out=$("$d" run --rm busybox sh -c "echo hello; echo oops >&2; exit 3; : $E2E_MARK" 2>"$E2E_TMP/err") || rc=$?
  assert_eq "run --rm exit code" 3 "$rc"
  assert_eq "run --rm stdout" hello "$out"
  assert_eq "run --rm stderr" oops "$(cat "$E2E_TMP/err")"
}
