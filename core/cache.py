"""Django's Redis cache with one client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call, and
each one fills a table of response callbacks: more CPU per ``cache.get`` than
the round trip to Redis (docs/performance.md). The client holds no state of
its own beyond the pool, so one per pool serves every call and thread.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._client(connection_pool=self._get_connection_pool(write))
            self._clients[index] = client
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
