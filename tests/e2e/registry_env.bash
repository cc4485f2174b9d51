# Helpers for tests/e2e/registry_*.sh and bench/registry (sourced): Debian's
# docker-registry (distribution 2.8) on loopback with a config of the
# test's own, optionally TLS with a CA made here and htpasswd basic auth.

# registry_start DIR PORT [tls] : starts a registry storing under DIR,
# listening on 127.0.0.1:PORT; with "tls": a CA ($DIR/ca/ca.crt), a server
# certificate for 127.0.0.1 and basic auth (user "alice", password "s3cret").
# Sets REG_PID.
registry_start() {
  local dir=$1 port=$2 mode=${3:-plain}
  mkdir -p "$dir/store"
  local tls="" auth=""
  if [[ $mode == tls ]]; then
    mkdir -p "$dir/ca"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test CA" \
      -keyout "$dir/ca.key" -out "$dir/ca/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' > "$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca/ca.crt" -CAkey "$dir/ca.key" -CAserial "$dir/ca.srl" -CAcreateserial \
      -days 2 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
    htpasswd -Bbc "$dir/htpasswd" alice s3cret 2>/dev/null
    tls="  tls:
    certificate: $dir/server.crt
    key: $dir/server.key"
    auth="auth:
  htpasswd:
    realm: berth-test
    path: $dir/htpasswd"
  fi
  cat > "$dir/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/store
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$tls
$auth
YML
  docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  REG_PID=$!
  local deadline=$((SECONDS + 20)) probe=(curl -s -o /dev/null "http://127.0.0.1:$port/v2/")
  [[ $mode == tls ]] && probe=(curl -s -o /dev/null --cacert "$dir/ca/ca.crt" "https://127.0.0.1:$port/v2/")
  until "${probe[@]}" 2>/dev/null; do
    kill -0 $REG_PID 2>/dev/null || { cat "$dir/registry.log" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "registry on port $port did not come up" >&2; return 1; }
    sleep 0.1
  done
}

# free_port : a TCP port free on loopback now.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
