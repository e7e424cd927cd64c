#!/usr/bin/env python3
"""Validates what images/mkbusybox-oci writes.

Usage: check-oci-layout.py LAYOUT [--ref FULL_REF] [--repo-tag TAG]
                                  [--bundle DIR] [--rootfs DIR]

Walks index.json -> manifest -> config and layer, checking every digest and
size against the blob it names, the config's diff_id against the uncompressed
layer, the layer's contents, and the docker-archive manifest.json. Prints the
manifest digest on success; on failure says what is wrong and exits 1.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


class Invalid(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Invalid(message)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_blob(layout, descriptor, media_type, what):
    """Returns the blob's bytes after checking the descriptor against them."""
    expect(descriptor.get("mediaType") == media_type,
           f"{what}: mediaType {descriptor.get('mediaType')!r}, expected {media_type!r}")
    digest = descriptor.get("digest", "")
    algorithm, _, hex_digest = digest.partition(":")
    expect(algorithm == "sha256" and len(hex_digest) == 64 and
           all(c in "0123456789abcdef" for c in hex_digest),
           f"{what}: malformed digest {digest!r}")
    path = os.path.join(layout, "blobs", "sha256", hex_digest)
    expect(os.path.isfile(path), f"{what}: blob {digest} is missing")
    with open(path, "rb") as f:
        data = f.read()
    expect(descriptor.get("size") == len(data),
           f"{what}: size {descriptor.get('size')} but blob {digest} has {len(data)} bytes")
    expect(sha256(data) == digest, f"{what}: blob {digest} hashes to {sha256(data)}")
    return data


def read_json(data, what):
    try:
        return json.loads(data)
    except ValueError as e:
        raise Invalid(f"{what} is not JSON: {e}")


def check_layer(tar_bytes):
    """The layer holds a working busybox tree, owned by root, timeless."""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
    expect(not any(n.startswith(("/", "./")) or ".." in n.split("/") for n in members),
           "layer: entries must be relative paths without '..'")
    busybox = members.get("bin/busybox")
    expect(busybox is not None and busybox.isfile(), "layer: no regular file bin/busybox")
    expect(busybox.mode & 0o777 == 0o755, f"layer: bin/busybox has mode {busybox.mode:o}")
    sh = members.get("bin/sh")
    expect(sh is not None and sh.issym(), "layer: no symlink bin/sh")
    target = os.path.normpath(os.path.join("bin", sh.linkname))
    expect(target == "bin/busybox", f"layer: bin/sh points at {sh.linkname}, not busybox")
    for name in ("etc/passwd", "etc/group"):
        expect(name in members and members[name].isfile(), f"layer: no {name}")
    for name in ("proc", "sys", "dev", "tmp", "root", "etc", "var", "run"):
        expect(name in members and members[name].isdir(), f"layer: no directory {name}")
    expect(members["tmp"].mode & 0o7777 == 0o1777, f"layer: tmp has mode {members['tmp'].mode:o}")
    for m in members.values():
        expect(m.uid == 0 and m.gid == 0, f"layer: {m.name} is owned by {m.uid}:{m.gid}")
        expect(m.mtime == members["bin/busybox"].mtime, f"layer: {m.name} has its own mtime")
        if m.issym():
            resolved = os.path.normpath(os.path.join(os.path.dirname(m.name), m.linkname))
            expect(resolved == "bin/busybox", f"layer: {m.name} -> {m.linkname} is not busybox")
    return len(members)


def check_layout(args):
    layout = args.layout
    with open(os.path.join(layout, "oci-layout"), "rb") as f:
        expect(read_json(f.read(), "oci-layout") == {"imageLayoutVersion": "1.0.0"},
               "oci-layout: wrong imageLayoutVersion")
    with open(os.path.join(layout, "index.json"), "rb") as f:
        index = read_json(f.read(), "index.json")
    expect(index.get("schemaVersion") == 2, "index.json: schemaVersion is not 2")
    expect(index.get("mediaType", INDEX) == INDEX, "index.json: wrong mediaType")
    expect(len(index.get("manifests", [])) == 1, "index.json: expected exactly one manifest")
    entry = index["manifests"][0]
    annotations = entry.get("annotations", {})
    full_ref = annotations.get("io.containerd.image.name", "")
    expect(full_ref, "index.json: no io.containerd.image.name annotation")
    expect(annotations.get("org.opencontainers.image.ref.name") == full_ref.rsplit(":", 1)[-1],
           "index.json: org.opencontainers.image.ref.name is not the tag of "
           f"io.containerd.image.name ({full_ref})")
    if args.ref:
        expect(full_ref == args.ref, f"index.json: image name {full_ref!r}, expected {args.ref!r}")

    manifest_bytes = read_blob(layout, entry, MANIFEST, "index.json manifests[0]")
    manifest = read_json(manifest_bytes, "manifest")
    expect(manifest.get("schemaVersion") == 2, "manifest: schemaVersion is not 2")
    expect(manifest.get("mediaType", MANIFEST) == MANIFEST, "manifest: wrong mediaType")
    config_bytes = read_blob(layout, manifest.get("config", {}), CONFIG, "manifest config")
    config = read_json(config_bytes, "config")
    layers = manifest.get("layers", [])
    expect(len(layers) == 1, "manifest: expected exactly one layer")
    layer_gz = read_blob(layout, layers[0], LAYER_GZIP, "manifest layers[0]")
    try:
        layer_tar = gzip.decompress(layer_gz)
    except (OSError, EOFError) as e:
        raise Invalid(f"layer: not gzip: {e}")

    expect(config.get("architecture") == "amd64" or config.get("architecture") == "arm64",
           f"config: architecture {config.get('architecture')!r}")
    expect(entry.get("platform", {}).get("architecture") == config["architecture"],
           "index.json: platform does not match the config's architecture")
    expect(config.get("os") == "linux", "config: os is not linux")
    expect(config.get("config", {}).get("Cmd") == ["sh"], "config: Cmd is not [\"sh\"]")
    expect(any(e.startswith("PATH=") for e in config["config"].get("Env", [])),
           "config: no PATH in Env")
    rootfs = config.get("rootfs", {})
    expect(rootfs.get("type") == "layers", "config: rootfs.type is not layers")
    expect(rootfs.get("diff_ids") == [sha256(layer_tar)],
           f"config: diff_ids {rootfs.get('diff_ids')} do not match the uncompressed layer "
           f"{sha256(layer_tar)}")
    check_layer(layer_tar)

    # Every blob is referenced: nothing stale left from another build.
    referenced = {entry["digest"], manifest["config"]["digest"], layers[0]["digest"]}
    present = {"sha256:" + n for n in os.listdir(os.path.join(layout, "blobs", "sha256"))}
    expect(present == referenced, f"blobs: unreferenced {sorted(present - referenced)}")

    # The docker-archive view names the same blobs.
    with open(os.path.join(layout, "manifest.json"), "rb") as f:
        docker = read_json(f.read(), "manifest.json")
    expect(isinstance(docker, list) and len(docker) == 1, "manifest.json: expected one image")
    blob_path = lambda d: "blobs/sha256/" + d.split(":", 1)[1]
    expect(docker[0].get("Config") == blob_path(manifest["config"]["digest"]),
           "manifest.json: Config is not the config blob")
    expect(docker[0].get("Layers") == [blob_path(layers[0]["digest"])],
           "manifest.json: Layers are not the layer blobs")
    tags = docker[0].get("RepoTags", [])
    expect(len(tags) == 1, "manifest.json: expected one RepoTag")
    if args.repo_tag:
        expect(tags == [args.repo_tag], f"manifest.json: RepoTags {tags}, expected {args.repo_tag}")
    return entry["digest"]


def check_rootfs(path, what):
    expect(os.path.isfile(os.path.join(path, "bin", "busybox")), f"{what}: no bin/busybox")
    sh = os.path.join(path, "bin", "sh")
    expect(os.path.islink(sh) and os.path.realpath(sh) ==
           os.path.realpath(os.path.join(path, "bin", "busybox")),
           f"{what}: bin/sh does not resolve to bin/busybox")
    expect(stat.S_IMODE(os.lstat(os.path.join(path, "tmp")).st_mode) == 0o1777,
           f"{what}: tmp is not 1777")


def check_bundle(path):
    with open(os.path.join(path, "config.json"), "rb") as f:
        spec = read_json(f.read(), "bundle config.json")
    expect(spec.get("ociVersion") == "1.0.2", f"bundle: ociVersion {spec.get('ociVersion')!r}")
    expect(spec.get("root", {}).get("path") == "rootfs", "bundle: root.path is not rootfs")
    expect(spec.get("process", {}).get("args") == ["sh"], "bundle: process.args is not [\"sh\"]")
    expect(spec["process"].get("cwd") == "/", "bundle: process.cwd is not /")
    namespaces = {n.get("type") for n in spec.get("linux", {}).get("namespaces", [])}
    expect({"pid", "network", "ipc", "uts", "mount"} <= namespaces,
           f"bundle: namespaces {sorted(namespaces)}")
    mounts = {m.get("destination"): m.get("type") for m in spec.get("mounts", [])}
    for destination, fs_type in {"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts",
                                 "/dev/shm": "tmpfs", "/dev/mqueue": "mqueue",
                                 "/sys": "sysfs"}.items():
        expect(mounts.get(destination) == fs_type, f"bundle: no {fs_type} mount on {destination}")
    check_rootfs(os.path.join(path, "rootfs"), "bundle rootfs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layout")
    parser.add_argument("--ref", help="expected io.containerd.image.name")
    parser.add_argument("--repo-tag", help="expected RepoTags entry of manifest.json")
    parser.add_argument("--bundle", help="also check this runtime bundle")
    parser.add_argument("--rootfs", help="also check this unpacked rootfs")
    args = parser.parse_args()
    try:
        digest = check_layout(args)
        if args.bundle:
            check_bundle(args.bundle)
        if args.rootfs:
            check_rootfs(args.rootfs, "rootfs")
    except (Invalid, OSError, KeyError, TypeError, AttributeError) as e:
        print(f"check-oci-layout: {args.layout}: {e}", file=sys.stderr)
        return 1
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
