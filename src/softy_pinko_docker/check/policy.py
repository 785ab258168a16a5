"""What a learner's Compose file may not do here, and the project the checker runs instead.

A learner's repository is untrusted. Before anything of a Compose task is built or started,
every key that would reach the host is refused, each with the file and key that asked for it:
privileges, the host's namespaces, devices, added capabilities, security profiles switched off,
bind mounts from outside the repository (the Docker socket anywhere), build contexts, env files
and includes from outside it, and the engine's existing networks and volumes. What is left runs
as `sandboxed()` rewrites it: the checker's own image names (nothing a learner names can
overwrite an image on the engine), ports published on 127.0.0.1 only, on ports the engine picks,
and memory, CPU and process limits on every container.

Read from `docker compose config --format json`, Compose's own resolution of the file (short
and long syntaxes, merges, `extends`, variables), so that what is judged is what would run;
the env files and includes, which that resolution inlines, from the file itself.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

# What every container of a check may use at most.
MEMORY = "512m"
CPUS = 1.0
PIDS = 256
HOST_NAMESPACES = ("network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup")
NEVER = (
    "privileged", "cgroup_parent", "runtime", "isolation", "oom_kill_disable", "use_api_socket",
    "post_start", "pre_stop", "provider", "label_file", "volume_driver",
)  # fmt: skip
NON_EMPTY = ("devices", "device_cgroup_rules", "cap_add", "gpus", "external_links")
NETWORK_DRIVERS = ("bridge", None, "")


@dataclasses.dataclass(frozen=True)
class Refusal:
    key: str  # services.back-end.privileged
    reason: str


def _inside(path: str | None, root: Path) -> bool:
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(root.resolve())
    except (OSError, ValueError):
        return False


def refusals(model: dict[str, Any], raw: Any, folder: Path, root: Path) -> list[Refusal]:
    """Every key of a resolved Compose model (and of its raw file `raw`: `before_reading`)
    that reaches outside the sandbox. `root` is the repository's copy."""
    found: list[Refusal] = []
    for name, service in (model.get("services") or {}).items():
        found += _service(f"services.{name}", service, root)
    for kind in ("networks", "volumes", "secrets", "configs"):
        for name, declared in (model.get(kind) or {}).items():
            key = f"{kind}.{name}"
            item = declared or {}
            if item.get("external"):
                found.append(Refusal(f"{key}.external", f"uses the engine's existing {kind[:-1]}"))
            if item.get("driver_opts"):
                found.append(Refusal(f"{key}.driver_opts", "driver options can mount host paths"))
            if kind == "networks" and item.get("driver") not in NETWORK_DRIVERS:
                found.append(Refusal(f"{key}.driver", f"network driver {item['driver']!r}"))
            if item.get("file") and not _inside(item["file"], root):
                found.append(Refusal(f"{key}.file", f"reads {item['file']} from the host"))
            if item.get("environment"):
                found.append(Refusal(f"{key}.environment", "reads the host's environment"))
    return found + before_reading(raw, folder, root)


def _service(key: str, service: dict[str, Any], root: Path) -> list[Refusal]:
    found = [
        Refusal(f"{key}.{option}", f"{option}: {service[option]!r}")
        for option in (*NEVER, *NON_EMPTY)
        if service.get(option)
    ]
    for option in HOST_NAMESPACES:
        value = str(service.get(option) or "")
        if value == "host" or value.startswith("container:"):
            found.append(Refusal(f"{key}.{option}", f"shares {value!r}'s namespace"))
    for option in service.get("security_opt") or []:
        if not str(option).startswith("no-new-privileges"):
            found.append(Refusal(f"{key}.security_opt", f"security_opt {option!r}"))
    if (service.get("oom_score_adj") or 0) < 0:
        found.append(Refusal(f"{key}.oom_score_adj", "a negative oom_score_adj"))
    for source in service.get("volumes_from") or []:
        if str(source).startswith("container:"):
            found.append(Refusal(f"{key}.volumes_from", f"mounts {source}'s volumes"))
    return found + _mounts(key, service, root) + _build(key, service.get("build"), root)


def _mounts(key: str, service: dict[str, Any], root: Path) -> list[Refusal]:
    found: list[Refusal] = []
    for index, volume in enumerate(service.get("volumes") or []):
        kind, source = volume.get("type"), volume.get("source", "")
        if kind == "bind" and (not _inside(source, root) or "docker.sock" in source):
            found.append(Refusal(f"{key}.volumes[{index}]", f"mounts {source} from the host"))
        elif kind not in ("bind", "volume", "tmpfs"):
            found.append(Refusal(f"{key}.volumes[{index}]", f"a {kind} mount"))
    return found


def _build(key: str, build: dict[str, Any] | None, root: Path) -> list[Refusal]:
    found: list[Refusal] = []
    if not build:
        return found
    context = str(build.get("context", ""))
    if "://" in context or context.startswith("git@") or not _inside(context, root):
        found.append(Refusal(f"{key}.build.context", f"builds from {context}"))
    dockerfile = Path(context) / str(build.get("dockerfile") or "Dockerfile")
    if "://" not in context and not _inside(str(dockerfile), root):
        found.append(Refusal(f"{key}.build.dockerfile", f"reads {dockerfile}"))
    if build.get("network") == "host":
        found.append(Refusal(f"{key}.build.network", "builds on the host's network"))
    for option in ("privileged", "entitlements", "secrets", "ssh"):
        if build.get(option):
            found.append(Refusal(f"{key}.build.{option}", f"build {option}"))
    for name, where in (build.get("additional_contexts") or {}).items():
        if not _inside(str(where), root):
            found.append(Refusal(f"{key}.build.additional_contexts.{name}", f"reads {where}"))
    return found


def before_reading(raw: Any, folder: Path, root: Path) -> list[Refusal]:
    """What `docker compose config` itself would read from outside the repository, refused
    from the file before Compose reads it: other Compose files (`include`, `extends.file`),
    and env files outside the repository (Compose expands `~` and variables in their paths)."""
    found: list[Refusal] = []
    if not isinstance(raw, dict):
        return [Refusal("(top level)", "not a mapping of keys")]
    if raw.get("include"):
        found.append(Refusal("include", "includes other Compose files: the checker reads one"))
    for name, service in (raw.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        extends = service.get("extends")
        if isinstance(extends, dict) and extends.get("file"):
            found.append(Refusal(f"services.{name}.extends", f"reads {extends['file']}"))
        env_files = service.get("env_file") or []
        for item in env_files if isinstance(env_files, list) else [env_files]:
            path = str(item.get("path") if isinstance(item, dict) else item)
            if "~" in path or "$" in path or not _inside(str(folder / path), root):
                found.append(Refusal(f"services.{name}.env_file", f"reads {path}"))
    return found


# What of a learner's service the checker runs: these keys, as the learner wrote them; every
# other key is dropped (logging drivers, ulimits, sysctls, hooks, resources: what is not
# listed cannot reach further than a container with the limits above).
KEPT = (
    "image", "command", "entrypoint", "environment", "working_dir", "user", "expose",
    "depends_on", "healthcheck", "tmpfs", "read_only", "cap_drop", "security_opt", "restart",
    "stop_signal", "stop_grace_period", "init", "hostname", "stdin_open", "tty", "networks",
)  # fmt: skip
MAX_REPLICAS = 4


def sandboxed(
    model: dict[str, Any], images: dict[str, str], label: dict[str, str]
) -> dict[str, Any]:
    """The model as the checker runs it: each service keeps only the KEPT keys; `images` maps a
    service to the image the checker built for it (its `build` is dropped); every published
    port moves to 127.0.0.1 on a port the engine picks; bind mounts (inside the repository's
    copy: others are refused) are read-only; replicas are at most MAX_REPLICAS; container,
    network, volume and project names go (Compose names them after the project, as the
    curriculum's command does); every container gets the limits above, and every container,
    network and volume `label`."""
    services = {name: _runnable(name, service, images, label)
                for name, service in model["services"].items()}  # fmt: skip
    result: dict[str, Any] = {"services": services}
    for kind in ("networks", "volumes"):  # bare: the default driver, Compose's own name
        declared = {name: {"labels": dict(label)} for name in model.get(kind) or {}}
        if kind == "networks":
            declared.setdefault("default", {"labels": dict(label)})
        result[kind] = declared
    return result


def _runnable(
    name: str, service: dict[str, Any], images: dict[str, str], label: dict[str, str]
) -> dict[str, Any]:
    kept = {key: copy.deepcopy(service[key]) for key in KEPT if key in service}
    if name in images:
        kept.update(image=images[name], pull_policy="never")
    kept["ports"] = [
        {"target": port["target"], "host_ip": "127.0.0.1", "protocol": "tcp"}
        for port in service.get("ports") or []
    ]
    kept["volumes"] = [
        {**volume, "read_only": True} if volume.get("type") == "bind" else volume
        for volume in copy.deepcopy(service.get("volumes") or [])
    ]
    replicas = (service.get("deploy") or {}).get("replicas")
    if replicas is not None:
        kept["deploy"] = {"replicas": min(int(replicas), MAX_REPLICAS)}
    if isinstance(kept.get("networks"), dict):  # names only: no fixed addresses
        kept["networks"] = {n: {"aliases": (v or {}).get("aliases", [])}
                            for n, v in kept["networks"].items()}  # fmt: skip
    kept["security_opt"] = [o for o in kept.get("security_opt") or [] if "no-new-privileges" in o]
    kept.update(mem_limit=MEMORY, memswap_limit=MEMORY, cpus=CPUS, pids_limit=PIDS)
    kept["labels"] = {**(service.get("labels") or {}), **label}
    return kept
