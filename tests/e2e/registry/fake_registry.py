#!/usr/bin/python3
"""A registry that says what the test needs it to say (plain HTTP).

fake_registry.py ADDR PORT OCI_LAYOUT

  /v2/                     200
  /v2/ok/manifests/1       the layout's first manifest (its blobs served too)
  /v2/old/manifests/1      a docker schema 1 manifest
  /v2/lying/manifests/1    the good manifest, with a Docker-Content-Digest of another
"""
import hashlib, http.server, json, os, sys

addr, port, layout = sys.argv[1], int(sys.argv[2]), sys.argv[3]
blobs = os.path.join(layout, "blobs", "sha256")
index = json.load(open(os.path.join(layout, "index.json")))
good = open(os.path.join(blobs, index["manifests"][0]["digest"].split(":")[1]), "rb").read()
schema1 = json.dumps({"schemaVersion": 1, "name": "old", "tag": "1", "architecture": "amd64",
                      "fsLayers": [], "history": []}).encode()
OCI = "application/vnd.oci.image.manifest.v1+json"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, body=b"", ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        p = self.path
        digest = "sha256:" + hashlib.sha256(good).hexdigest()
        if p == "/v2/":
            return self.answer(200, b"{}")
        if p == "/v2/ok/manifests/1":
            return self.answer(200, good, OCI, [("Docker-Content-Digest", digest)])
        if p == "/v2/lying/manifests/1":
            return self.answer(200, good, OCI, [("Docker-Content-Digest", "sha256:" + "0" * 64)])
        if p == "/v2/old/manifests/1":
            return self.answer(200, schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws")
        if "/blobs/sha256:" in p:
            f = os.path.join(blobs, p.rsplit(":", 1)[1])
            if os.path.isfile(f):
                return self.answer(200, open(f, "rb").read(), "application/octet-stream")
        return self.answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')

    do_HEAD = do_GET


http.server.ThreadingHTTPServer((addr, port), Handler).serve_forever()
