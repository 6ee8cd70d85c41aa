#!/usr/bin/env python3
"""Check META.json against the PGXN Meta Spec 1.0.0 (https://pgxn.org/spec/)
and against the tree it describes: the version agrees with the control file's
default_version, every path it names exists.  Prints one line per problem and
exits 1 when there is any.  Usage: meta_check.py [META.json [control]]"""

import json
import os
import re
import sys

SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
# version ranges of prereqs: "0", "1.2.3", ">= 1.2.3, < 2.0.0", "== 1.0.0"
RANGE_PART = re.compile(r"^(?:(?:[<>]=?|[=!]=)\s*)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)){0,2}"
                        r"(-[0-9A-Za-z-]+)?$")
LICENSES = {
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd",
    "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1",
    "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5",
    "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source",
    "restricted", "unrestricted", "unknown",
}
REQUIRED = ["name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"]
OPTIONAL = ["description", "generated_by", "tags", "no_index", "prereqs",
            "release_status", "resources"]
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}
RESOURCES = {"homepage", "bugtracker", "repository"}

problems = []


def bad(msg):
    problems.append(msg)


def is_term(s):
    return (isinstance(s, str) and len(s) >= 2
            and not re.search(r"[\s/\\:]", s) and s.isprintable())


def check_version_range(where, v):
    if isinstance(v, int) and v == 0:
        return
    if not isinstance(v, str) or not all(RANGE_PART.match(p.strip()) for p in v.split(",")):
        bad(f"{where}: {v!r} is not a version range")


def main():
    meta_path = sys.argv[1] if len(sys.argv) > 1 else "META.json"
    control_path = sys.argv[2] if len(sys.argv) > 2 else None
    root = os.path.dirname(os.path.abspath(meta_path))
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{meta_path}: {e}")
        return 1
    if not isinstance(meta, dict):
        bad("the top level is not an object")
        meta = {}

    for key in REQUIRED:
        if key not in meta:
            bad(f"{key}: required and missing")
    for key in meta:
        if key not in REQUIRED and key not in OPTIONAL and not key.lower().startswith("x_"):
            bad(f"{key}: not a field of the spec (custom fields begin with x_)")

    if "name" in meta and not is_term(meta["name"]):
        bad(f"name: {meta['name']!r} is not a term")
    if "version" in meta and not (isinstance(meta["version"], str) and SEMVER.match(meta["version"])):
        bad(f"version: {meta['version']!r} is not a semantic version")
    for key in ("abstract", "description", "generated_by"):
        if key in meta and not (isinstance(meta[key], str) and meta[key].strip()):
            bad(f"{key}: must be a non-empty string")
    if "in progress" in meta.get("description", ""):
        bad("description: still says 'in progress'")

    m = meta.get("maintainer")
    if m is not None and not (isinstance(m, str) and m
                              or isinstance(m, list) and m and all(isinstance(x, str) and x for x in m)):
        bad("maintainer: must be a string or a non-empty list of strings")

    lic = meta.get("license")
    if lic is not None:
        if isinstance(lic, str):
            if lic not in LICENSES:
                bad(f"license: {lic!r} is not a license name of the spec")
        elif isinstance(lic, list):
            if not lic or any(x not in LICENSES for x in lic):
                bad(f"license: {lic!r} holds a name the spec does not know")
        elif isinstance(lic, dict):
            if not lic or any(not isinstance(u, str) or not u.startswith(("http://", "https://"))
                              for u in lic.values()):
                bad("license: an object must map names to URLs")
        else:
            bad("license: must be a string, a list or an object")

    prov = meta.get("provides")
    if prov is not None:
        if not isinstance(prov, dict) or not prov:
            bad("provides: must be a non-empty object")
        else:
            for ext, spec in prov.items():
                where = f"provides.{ext}"
                if not is_term(ext):
                    bad(f"{where}: the name is not a term")
                if not isinstance(spec, dict):
                    bad(f"{where}: must be an object")
                    continue
                for key in spec:
                    if key not in ("file", "version", "abstract", "docfile") and not key.lower().startswith("x_"):
                        bad(f"{where}.{key}: not a field of the spec")
                for key in ("file", "version"):
                    if key not in spec:
                        bad(f"{where}.{key}: required and missing")
                if "version" in spec and not (isinstance(spec["version"], str) and SEMVER.match(spec["version"])):
                    bad(f"{where}.version: {spec['version']!r} is not a semantic version")
                elif spec.get("version") != meta.get("version"):
                    bad(f"{where}.version: {spec.get('version')} differs from version {meta.get('version')}")
                for key in ("file", "docfile"):
                    if key in spec and not os.path.isfile(os.path.join(root, spec[key])):
                        bad(f"{where}.{key}: {spec[key]} does not exist")

    ms = meta.get("meta-spec")
    if ms is not None:
        if not isinstance(ms, dict) or ms.get("version") != "1.0.0":
            bad("meta-spec: must be an object whose version is 1.0.0")
        elif "url" in ms and ms["url"] not in ("https://pgxn.org/meta/spec.txt", "http://pgxn.org/meta/spec.txt"):
            bad(f"meta-spec.url: {ms['url']!r} is not the spec's address")

    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and tags and all(
            isinstance(t, str) and 0 < len(t) <= 255 and "/" not in t and "\\" not in t for t in tags)):
        bad("tags: must be a non-empty list of tags of at most 255 characters")

    if "release_status" in meta and meta["release_status"] not in ("stable", "testing", "unstable"):
        bad(f"release_status: {meta['release_status']!r} is not stable, testing or unstable")

    res = meta.get("resources")
    if res is not None:
        if not isinstance(res, dict) or any(k not in RESOURCES and not k.lower().startswith("x_") for k in res):
            bad("resources: only homepage, bugtracker and repository (or x_ fields)")

    pre = meta.get("prereqs")
    if pre is not None:
        if not isinstance(pre, dict):
            bad("prereqs: must be an object")
        else:
            for phase, rels in pre.items():
                if phase not in PHASES and not phase.lower().startswith("x_"):
                    bad(f"prereqs.{phase}: not a phase of the spec")
                if not isinstance(rels, dict):
                    bad(f"prereqs.{phase}: must be an object")
                    continue
                for rel, reqs in rels.items():
                    if rel not in RELATIONS and not rel.lower().startswith("x_"):
                        bad(f"prereqs.{phase}.{rel}: not a relation of the spec")
                    if not isinstance(reqs, dict):
                        bad(f"prereqs.{phase}.{rel}: must be an object")
                        continue
                    for name, v in reqs.items():
                        check_version_range(f"prereqs.{phase}.{rel}.{name}", v)

    if control_path:
        with open(control_path, encoding="utf-8") as f:
            found = re.search(r"^default_version\s*=\s*'([^']*)'", f.read(), re.M)
        if not found:
            bad(f"{control_path}: no default_version")
        elif found.group(1) != meta.get("version"):
            bad(f"version: {meta.get('version')} differs from {control_path}'s default_version {found.group(1)}")

    for p in problems:
        print(f"{meta_path}: {p}")
    if not problems:
        print(f"{meta_path}: valid against the PGXN Meta Spec 1.0.0")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
