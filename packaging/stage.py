"""The manifest work of scripts/dist.sh that a shell script does badly: reading cargo
metadata, checking that every package version equals the crate's, and writing the
manifests of the staged packages. Standard library only (Python 3.11+ for tomllib).

    stage.py meta                  < cargo-metadata.json   shell assignments
    stage.py node-cargo-toml ROOT OUT < cargo-metadata.json   the npm package's Cargo.toml
    stage.py node-package-json SRC OUT PLATFORM_PACKAGE VERSION
    stage.py crate-manifest PATH own-workspace|member
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from pathlib import Path

CRATE = "webex-auth"
NODE_CRATE = "webex-auth-node"
CLI_BIN = "webex-auth"  # the command line's binary, when the workspace has it


def fail(msg: str) -> None:
    sys.exit(f"dist: {msg}")


def package(meta: dict, name: str) -> dict:
    for p in meta["packages"]:
        if p["name"] == name:
            return p
    fail(f"the workspace has no package {name}")
    raise AssertionError


def cmd_meta(meta: dict) -> None:
    """VERSION, MAJOR, DESCRIPTION, TARGET_DIR and CLI_PACKAGE (empty until the workspace has a
    binary named webex-auth) as shell assignments; fails when a package that ships
    with the crate's version (the addon, the npm packages, the command) carries another."""
    root = Path(meta["workspace_root"])
    crate = package(meta, CRATE)
    version = crate["version"]
    mismatched = []
    if package(meta, NODE_CRATE)["version"] != version:
        mismatched.append(f"bindings/node/Cargo.toml ({package(meta, NODE_CRATE)['version']})")
    node = root / "bindings" / "node"
    for manifest in [node / "package.json", *sorted((node / "npm").glob("*/package.json"))]:
        found = json.loads(manifest.read_text())["version"]
        if found != version:
            mismatched.append(f"{manifest.relative_to(root)} ({found})")
    cli = [
        p
        for p in meta["packages"]
        if p["id"] in meta["workspace_members"]
        and any(t["name"] == CLI_BIN and "bin" in t["kind"] for t in p["targets"])
    ]
    # bin/webex-auth ships in the tarball: `webex-auth --version` must say the release's.
    for p in cli:
        if p["version"] != version:
            mismatched.append(f"{Path(p['manifest_path']).relative_to(root)} ({p['version']})")
    if mismatched:
        fail(f"Cargo.toml says {version}, but these say otherwise: " + ", ".join(mismatched))
    values = {
        "VERSION": version,
        "MAJOR": version.split(".")[0],
        "DESCRIPTION": crate["description"],
        "TARGET_DIR": meta["target_directory"],
        "CLI_PACKAGE": cli[0]["name"] if cli else "",
    }
    for k, v in values.items():
        print(f"{k}={shlex.quote(v)}")


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string for anything JSON escapes the same way
    fail(f"cannot copy the profile value {v!r}")
    raise AssertionError


def cmd_node_cargo_toml(meta: dict, root_manifest: Path, out: Path) -> None:
    """bindings/node/Cargo.toml as the npm package needs it: its own workspace (npm
    puts it anywhere, perhaps inside someone's cargo workspace), the engine found in
    webex-auth-core/ inside the package, the values it inherited from the workspace
    written out, and the workspace's release profile (profiles live at the root)."""
    node = package(meta, NODE_CRATE)
    text = Path(node["manifest_path"]).read_text()
    inherited = {
        "edition": node["edition"],
        "license": node["license"],
        "rust-version": node["rust_version"],
    }
    for key, value in inherited.items():
        text, n = re.subn(rf"(?m)^{re.escape(key)}\.workspace = true$", f"{key} = {json.dumps(value)}", text)
        if n != 1 and f"{key}.workspace" in text:
            fail(f"cannot write out {key}.workspace in {node['manifest_path']}")
    if ".workspace" in text:
        fail(f"{node['manifest_path']} inherits something dist.sh does not write out")
    text, n = re.subn(r'path = "\.\./\.\."', 'path = "webex-auth-core"', text)
    if n != 1 or re.search(r'path = "\.\.', text):
        fail(f"{node['manifest_path']}: expected exactly one path dependency, on ../..")
    root = tomllib.loads(root_manifest.read_text())
    profiles = root.get("profile", {})
    text += "\n# Published on its own: this package is the workspace root (dist.sh).\n[workspace]\n"
    if "resolver" in root.get("workspace", {}):
        text += f"resolver = {toml_value(root['workspace']['resolver'])}\n"
    for name, settings in profiles.items():
        text += toml_table(f"profile.{toml_key(name)}", settings)
    out.write_text(text)


def toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def toml_table(header: str, table: dict) -> str:
    """`[header]` with the table's values, then its sub-tables (profile.dev.package."*")."""
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    text = f"\n[{header}]\n" if scalars or not table else ""
    for key, value in scalars.items():
        text += f"{toml_key(key)} = {toml_value(value)}\n"
    for key, value in table.items():
        if isinstance(value, dict):
            text += toml_table(f"{header}.{toml_key(key)}", value)
    return text


def cmd_node_package_json(src: Path, out: Path, platform_package: str, version: str) -> None:
    """The published package.json: the checkout's, plus the prebuilt platform package
    as an optional dependency pinned to this exact version (only the published package
    lists it: in a checkout, npm install would look for it in the registry)."""
    pkg = json.loads(src.read_text())
    pkg["optionalDependencies"] = {platform_package: version}
    out.write_text(json.dumps(pkg, indent=2) + "\n")


def cmd_crate_manifest(path: Path, role: str) -> None:
    """The manifest `cargo package` wrote, for where the crate goes: the sdist's crate
    is its own workspace root (an empty [workspace], so a parent directory that is a
    cargo workspace does not claim it); the npm package's is a member of the addon's
    workspace, where its profiles and resolver would only draw a warning (the root's
    apply)."""
    text = path.read_text()
    if role == "own-workspace":
        text += "\n[workspace]\n"
    elif role == "member":
        text = re.sub(r"(?ms)^\[profile\.[^\]]*\]\n.*?(?=^\[|\Z)", "", text)
        text = re.sub(r'(?m)^resolver = "[^"]*"\n', "", text)
    else:
        fail(f"unknown role {role}")
    path.write_text(text)


def main(argv: list[str]) -> None:
    if not argv:
        fail(__doc__ or "")
    cmd, args = argv[0], argv[1:]
    if cmd == "meta":
        cmd_meta(json.load(sys.stdin))
    elif cmd == "node-cargo-toml":
        cmd_node_cargo_toml(json.load(sys.stdin), Path(args[0]), Path(args[1]))
    elif cmd == "node-package-json":
        cmd_node_package_json(Path(args[0]), Path(args[1]), args[2], args[3])
    elif cmd == "crate-manifest":
        cmd_crate_manifest(Path(args[0]), args[1])
    else:
        fail(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
