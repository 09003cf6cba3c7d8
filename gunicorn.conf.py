"""gunicorn's settings for stemsite, read by gunicorn from the directory it starts in
(the checkout: `gunicorn stemsite.wsgi …` as the README's production section runs it).

Each worker, once it has loaded the site, reads in a background thread what the search
backend keeps between searches (`search.backends.warm_up`: the PostgreSQL backend's
kept entries), so the worker's first reader does not wait for it. Nothing else is set
here: the command line keeps every option.
"""


def post_worker_init(worker) -> None:
    from search.backends import warm_up

    warm_up()
