#!/usr/bin/python3
"""Makes a multi-platform OCI layout from a single-platform one.

multi_platform.py SRC_LAYOUT DST_LAYOUT

DST's index.json lists, in this order: an attestation-like entry
(platform unknown/unknown) pointing at the amd64 manifest, a linux/arm64
image (the same layers, a config that says arm64), and the linux/amd64
image. Prints "amd64=<config digest> arm64=<config digest>".
"""
import hashlib, json, os, shutil, sys

src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
blobs = os.path.join(dst, "blobs", "sha256")


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def get(digest):
    with open(os.path.join(blobs, digest.split(":")[1]), "rb") as f:
        return f.read()


index = json.load(open(os.path.join(dst, "index.json")))
amd = index["manifests"][0]
manifest = json.loads(get(amd["digest"]))
config = json.loads(get(manifest["config"]["digest"]))
config["architecture"] = "arm64"
cdig, csize = put(json.dumps(config, separators=(",", ":")).encode())
arm_manifest = dict(manifest, config=dict(manifest["config"], digest=cdig, size=csize))
mdig, msize = put(json.dumps(arm_manifest, separators=(",", ":")).encode())
mt = "application/vnd.oci.image.manifest.v1+json"
new_index = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {"mediaType": mt, "digest": amd["digest"], "size": amd["size"],
         "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        {"mediaType": mt, "digest": mdig, "size": msize, "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": mt, "digest": amd["digest"], "size": amd["size"],
         "platform": {"os": "linux", "architecture": "amd64"}},
    ],
}
idig, isize = put(json.dumps(new_index, separators=(",", ":")).encode())
# The layout's own index names the multi-platform index as "multi".
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                                "digest": idig, "size": isize,
                                                "annotations": {"org.opencontainers.image.ref.name": "multi"}}]},
          open(os.path.join(dst, "index.json"), "w"))
print("amd64=%s arm64=%s" % (manifest["config"]["digest"], cdig))
