"""A RedisStore's URL and options, checked once when the store is built."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from ..exceptions import ConfigError

__all__ = ["SCHEMES", "Settings", "parse_settings"]

SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")

#: The query options a redis+cluster:// URL may carry (redis-py parses a single server's).
_CLUSTER_QUERY = {
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "ssl_ca_certs": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_cert_reqs": str,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """What a :class:`~consent_mw.stores.redis.RedisStore` connects with."""

    url: str  # without the prefix= query parameter
    cluster: bool
    prefix: str
    nodes: list[tuple[str, int]]  # a cluster's start-up nodes; [] for a single server
    options: dict[str, Any]  # for the redis-py clients


def parse_settings(
    url: str,
    *,
    prefix: str | None,
    timeout: float,
    connect_timeout: float,
    retries: int,
    max_connections: int,
    access_log_max: int,
    client_options: dict[str, Any],
) -> Settings:
    """The store's settings, or :class:`~consent_mw.exceptions.ConfigError` naming the
    first bad one (the arguments are those of ``RedisStore.__init__``)."""
    scheme = url.partition("://")[0]
    if scheme not in SCHEMES:
        raise ConfigError(f"RedisStore needs a {', '.join(SCHEMES)} URL, not {url!r}.")
    url, url_prefix = _split_prefix(url)
    if prefix is not None and url_prefix is not None and prefix != url_prefix:
        raise ConfigError(f"Two key prefixes: {prefix!r} (prefix=) and {url_prefix!r} (the URL).")
    if prefix is None:
        prefix = "cmw" if url_prefix is None else url_prefix
    for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
        if not isinstance(value, int | float) or not 0 < value <= 300:
            raise ConfigError(f"{name} must be a number of seconds in (0, 300], not {value!r}.")
    if retries < 0:
        raise ConfigError(f"retries must be >= 0, not {retries!r}.")
    if not isinstance(access_log_max, int) or access_log_max < 1000:
        raise ConfigError(f"access_log_max must be an int >= 1000, not {access_log_max!r}.")
    clash = {"socket_timeout", "socket_connect_timeout", "retry"} & set(client_options)
    if clash:
        raise ConfigError(
            f"Set {', '.join(sorted(clash))} through timeout=, connect_timeout= and"
            " retries=: a RedisStore never waits without a bound."
        )
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": connect_timeout,
        "max_connections": max_connections,
        **client_options,
    }
    cluster = scheme.endswith("+cluster")
    nodes = _cluster_settings(url, scheme, options) if cluster else []
    return Settings(url, cluster, prefix, nodes, options)


def _cluster_settings(url: str, scheme: str, options: dict[str, Any]) -> list[tuple[str, int]]:
    """A redis+cluster:// URL's start-up nodes; its credentials, TLS and query options
    go into ``options``."""
    parts = urllib.parse.urlsplit(url)
    username, password, nodes = _cluster_nodes(parts.netloc)
    options.update(username=username, password=password, ssl=scheme == "rediss+cluster")
    if parts.path not in ("", "/", "/0"):
        raise ConfigError("Redis Cluster has one database: drop the /<db> from the URL.")
    for name, values in urllib.parse.parse_qs(parts.query).items():
        if name not in _CLUSTER_QUERY:
            raise ConfigError(f"Unknown option {name!r} in a redis+cluster:// URL.")
        options[name] = _CLUSTER_QUERY[name](values[-1])
    return nodes


def _cluster_nodes(netloc: str) -> tuple[str | None, str | None, list[tuple[str, int]]]:
    userinfo, _, hosts = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, sep, secret = userinfo.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) if sep else None
    nodes: list[tuple[str, int]] = []
    for item in filter(None, hosts.split(",")):
        host, sep, port = item.rpartition(":")
        if not sep or "]" in port:  # no port, or an IPv6 literal without one
            host, port = item, "6379"
        host = host.strip("[]")
        if not host or not (port.isascii() and port.isdigit()):
            raise ConfigError(f"Bad node {item!r} in a redis+cluster:// URL; use host:port.")
        nodes.append((host, int(port)))
    if not nodes:
        raise ConfigError("A redis+cluster:// URL needs at least one host:port.")
    return username, password, nodes


def _split_prefix(url: str) -> tuple[str, str | None]:
    """``url`` without its ``prefix=`` query parameter (ours, not redis-py's), and it."""
    parts = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    found = [value for name, value in pairs if name == "prefix"]
    if not found:
        return url, None
    rest = urllib.parse.urlencode([(n, v) for n, v in pairs if n != "prefix"])
    return urllib.parse.urlunsplit(parts._replace(query=rest)), found[-1]
