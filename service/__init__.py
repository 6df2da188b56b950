"""The Frontdoor service: `create_app()` builds the Flask application."""


def create_app(config: dict | None = None):
    from service.app import create_app as _create

    return _create(config)
