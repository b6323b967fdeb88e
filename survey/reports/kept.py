"""Figures a process keeps between requests: a bounded dict, shared by a worker's threads."""
import threading

_keeping = threading.Lock()


def keep(cache: dict, key, value, most: int):
    """``cache[key] = value``, dropping the oldest entries beyond ``most``; threads of a worker share the cache."""
    with _keeping:
        while len(cache) >= most:
            cache.pop(next(iter(cache)))
        cache[key] = value
