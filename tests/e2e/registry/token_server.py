#!/usr/bin/python3
"""A bearer-token service for docker-registry's `auth: token` (the flow of
Docker Hub's auth.docker.io), for tests only.

token_server.py PORT KEY CERT ISSUER LOG_FILE

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]: with Basic
alice:s3cret, answers {"token": JWT, "expires_in": 300}; the JWT (RS256,
signed by KEY with `openssl dgst`, CERT in its x5c header) grants what the
scopes ask. Anything else: 401. Each request's scopes go to LOG_FILE.
"""
import base64, http.server, json, subprocess, sys, time, urllib.parse

port, key, cert, issuer, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True, check=True).stdout


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        ok = auth == "Basic " + base64.b64encode(b"alice:s3cret").decode()
        scopes = q.get("scope", [])
        with open(log_file, "a") as f:
            f.write(("ok " if ok else "denied ") + " ".join(scopes) + "\n")
        if u.path != "/token" or not ok:
            self.send_response(401)
            self.end_headers()
            return
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) == 3:
                access.append({"type": parts[0], "name": parts[1], "actions": parts[2].split(",")})
        now = int(time.time())
        claims = {"iss": issuer, "sub": "alice", "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": str(now) + str(id(self)), "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                             capture_output=True, check=True).stdout
        body = json.dumps({"token": signing_input + "." + b64url(sig), "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
