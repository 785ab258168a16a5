"""A learner's Nginx config read as Nginx reads it: crossplane (NGINX's own parser, here as its
maintained fork ngxparse) for the directives, and Nginx's rules for which `server` answers a port
and which `location` answers a path. Whether Nginx accepts the file is `nginx -t`'s to say, in the
learner's own image (steps.nginx_accepts); this reads what a file that loads would do."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import crossplane

BOM = b"\xef\xbb\xbf"


class NotRead(Exception):
    """Nginx would not read the file: why, and the line."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.line = line


@dataclasses.dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    line: int
    block: tuple[Directive, ...] | None  # None: a simple directive, ending with `;`

    def children(self, name: str) -> list[Directive]:
        return [d for d in self.block or () if d.name == name]


def _directive(parsed: dict[str, Any]) -> Directive:
    block = parsed.get("block")
    return Directive(
        parsed["directive"],
        tuple(parsed.get("args") or ()),
        int(parsed.get("line") or 0),
        None if block is None else tuple(_directive(d) for d in block),
    )


def read(path: Path) -> list[Directive]:
    """The file's top-level directives (it is included inside `http`, as conf.d's files are).
    Its `include`s are not followed: they would name files of the machine it is read on."""
    if path.read_bytes().startswith(BOM):
        raise NotRead(
            "it starts with a UTF-8 byte-order mark, which Nginx reads as part of the first "
            "directive's name (unknown directive)",
            1,
        )
    said = crossplane.parse(
        str(path), single=True, comments=False, check_ctx=False, check_args=False, strict=False
    )
    errors = [e for config in said["config"] for e in config.get("errors") or []]
    if errors or said["status"] != "ok":
        first = errors[0] if errors else {"error": "it cannot be parsed", "line": None}
        reason = re.sub(r"\s+in \S+:\d+$", "", str(first.get("error", "")))
        line = first.get("line")
        raise NotRead(reason, line if isinstance(line, int) else None)
    return [_directive(d) for d in said["config"][0]["parsed"]]


def servers(directives: list[Directive]) -> list[Directive]:
    """The `server` blocks the file defines (inside an `http` block too, if it has one)."""
    found = [d for d in directives if d.name == "server" and d.block is not None]
    for http in (d for d in directives if d.name == "http"):
        found += [d for d in http.children("server") if d.block is not None]
    return found


def listen_ports(server: Directive) -> list[int]:
    """The ports a server listens on; Nginx's default is 80 (as root, as in the images)."""
    ports = []
    for listen in server.children("listen"):
        address = listen.args[0] if listen.args else ""
        match = re.search(r"(?:^|:)(\d+)$", address)
        if match:
            ports.append(int(match.group(1)))
        elif not re.search(r"\d", address) or address.startswith("unix:"):
            ports.append(80)  # `listen localhost;` listens on 80
    return ports or [80]


def server_on(directives: list[Directive], port: int) -> Directive | None:
    """The server that answers a request on `port` with no matching server_name: the one
    marked default_server, else the first that listens there."""
    candidates = [s for s in servers(directives) if port in listen_ports(s)]
    for server in candidates:
        if any("default_server" in listen.args for listen in server.children("listen")):
            return server
    return candidates[0] if candidates else None


def _locations(block: Directive) -> list[Directive]:
    return [d for d in block.children("location") if d.block is not None and d.args]


def location_for(server: Directive, uri: str) -> Directive | None:
    """The location Nginx picks for `uri`: an exact `=` match; else the longest prefix, unless
    it is `^~`, the first regular expression that matches; else that longest prefix."""
    prefixes: list[tuple[str, Directive, bool]] = []
    regexes: list[tuple[str, Directive, bool]] = []
    for location in _locations(server):
        modifier, path = (location.args[0], location.args[1]) if len(location.args) > 1 else (
            "", location.args[0])  # fmt: skip
        if modifier == "=" and path == uri:
            return location
        if modifier in ("~", "~*"):
            regexes.append((path, location, modifier == "~*"))
        elif modifier in ("", "^~") and uri.startswith(path):
            prefixes.append((path, location, modifier == "^~"))
    longest = max(prefixes, key=lambda p: len(p[0]), default=None)
    if longest is not None and longest[2]:
        return longest[1]
    for pattern, location, caseless in regexes:
        try:
            if re.search(pattern, uri, re.I if caseless else 0):
                return location
        except re.error:
            continue  # PCRE that Python's re cannot read: not judged here
    return longest[1] if longest else None


@dataclasses.dataclass(frozen=True)
class Target:
    hosts: tuple[str, ...]  # host:port each request may go to (an upstream's servers)
    line: int  # the proxy_pass
    variable: bool  # the address is made of variables: only running it tells
    path: str | None = None  # the URI part of proxy_pass (`http://back-end:5252/` has "/")

    def upstream_uri(self, location: Directive, uri: str) -> str:
        """The URI the upstream receives for `uri`: as sent, or, when proxy_pass has a URI
        part and the location is a prefix, that part in place of the location's prefix."""
        prefix = location.args[-1]
        if self.path is None or len(location.args) > 1 and location.args[0] in ("~", "~*"):
            return uri
        return self.path + uri[len(prefix) :]


def proxy_target(directives: list[Directive], location: Directive) -> Target | None:
    """Where a location's proxy_pass sends requests: `host:port`s, through an upstream block's
    servers when it names one; the port is 80 when none is written, as in Nginx."""
    passes = location.children("proxy_pass")
    if not passes or not passes[0].args:
        return None
    url = passes[0].args[0]
    if "$" in url:
        return Target((), passes[0].line, True)
    address, slash, rest = re.sub(r"^[a-z]+://", "", url).partition("/")
    path = slash + rest if slash else None
    upstreams = {u.args[0]: u for u in _upstreams(directives) if u.args}
    if address in upstreams:
        hosts = tuple(
            _with_port(s.args[0]) for s in upstreams[address].children("server") if s.args
        )
        return Target(hosts, passes[0].line, False, path)
    return Target((_with_port(address),), passes[0].line, False, path)


def _upstreams(directives: list[Directive]) -> list[Directive]:
    found = [d for d in directives if d.name == "upstream"]
    for http in (d for d in directives if d.name == "http"):
        found += http.children("upstream")
    return found


def _with_port(address: str) -> str:
    return address if re.search(r":\d+$", address) else f"{address}:80"


def root_for(server: Directive, location: Directive | None) -> tuple[str, str, int] | None:
    """The `root` or `alias` a location serves files from (the server's root when it has none):
    (directive, path, line), or None when neither says (Nginx's compiled-in default `html`)."""
    for block in (location, server):
        if block is None:
            continue
        for name in ("alias", "root") if block is location else ("root",):
            found = block.children(name)
            if found and found[0].args:
                return name, found[0].args[0], found[0].line
    return None


def index_names(server: Directive, location: Directive | None) -> list[str]:
    """The index files a location tries (Nginx's default: index.html)."""
    for block in (location, server):
        found = block.children("index") if block is not None else []
        if found:
            return list(found[0].args)
    return ["index.html"]
