"""Which database each read goes to, decided without a replica to ask (the real
standby's tests are in `tests/test_replicas.py`, in the PostgreSQL pass)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve

from library.models import Article, Disease
from search.models import PendingIndexUpdate, SearchTerm
from stemsite import replicas

router = replicas.ReplicaRouter()


@pytest.fixture
def one_replica(settings):
    settings.DATABASE_REPLICAS = ["replica1"]


def test_without_replicas_the_router_leaves_every_choice_to_django(settings):
    assert settings.DATABASE_REPLICAS == []
    assert router.db_for_read(Article) is None
    assert router.db_for_write(Article) is None
    assert router.allow_migrate("default", "library") is None


def test_in_a_readers_scope_content_is_read_from_the_replica_and_the_rest_from_the_primary(
    one_replica,
):
    with replicas.reading_from("replica1"):
        assert [router.db_for_read(m) for m in (Article, Disease)] == ["replica1", "replica1"]
        primary_only = (Session, User, AccessAttempt, SearchTerm, PendingIndexUpdate)
        assert {router.db_for_read(m) for m in primary_only} == {"default"}
        assert router.db_for_write(Article) == "default"
        assert replicas.read_alias() == "replica1"
        with replicas.primary():
            assert router.db_for_read(Article) == "default"
            assert replicas.read_alias() == "default"
    assert router.db_for_read(Article) == "default"  # no scope: commands, the admin, writes
    assert router.allow_migrate("replica1", "library") is False


def reader_request(path: str = "/articles/", method: str = "get", user=None, **cookies):
    request = getattr(RequestFactory(), method)(path)
    request.COOKIES.update(cookies)
    request.user = user or AnonymousUser()
    request.resolver_match = resolve(path)
    return request


def pin_cookie() -> str:
    response = HttpResponse()
    response.set_signed_cookie(replicas.PIN_COOKIE, "1", salt=replicas.PIN_SALT)
    return response.cookies[replicas.PIN_COOKIE].value


@pytest.mark.django_db
def test_only_an_anonymous_readers_get_without_a_recent_write_reads_a_replica(one_replica):
    view = resolve("/articles/").func
    reads_replica = replicas.ReplicaMiddleware.reads_replica
    editor = User.objects.create_user("editor", password="a-long-test-password")

    assert reads_replica(reader_request(), view)
    assert reads_replica(reader_request(method="head"), view)
    assert not reads_replica(reader_request(method="post"), view)
    assert not reads_replica(reader_request("/admin/login/"), resolve("/admin/login/").func)
    assert not reads_replica(reader_request("/readyz/"), resolve("/readyz/").func)
    assert not reads_replica(reader_request(user=editor), view)
    assert not reads_replica(reader_request(**{replicas.PIN_COOKIE: pin_cookie()}), view)
    assert reads_replica(reader_request(**{replicas.PIN_COOKIE: "1"}), view)  # forged


def test_a_browser_that_writes_is_pinned_for_longer_than_the_lag_bound(one_replica, settings):
    settings.DATABASE_REPLICA_MAX_LAG = 5
    middleware = replicas.ReplicaMiddleware(lambda request: HttpResponse())

    wrote = middleware(RequestFactory().post("/admin/login/"))
    read = middleware(RequestFactory().get("/articles/"))

    cookie = wrote.cookies[replicas.PIN_COOKIE]
    assert int(cookie["max-age"]) > settings.DATABASE_REPLICA_MAX_LAG
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert replicas.PIN_COOKIE not in read.cookies
