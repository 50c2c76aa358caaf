import pytest

from tests.alerts.receivers import start_http_receiver, start_smtp_receiver


@pytest.fixture
def receiver():
    """A real HTTP server recording every POST (webhooks, Slack, Apprise json://)."""
    server, receiver = start_http_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd); Django's SMTP backend pointed at it."""
    controller, inbox, port = start_smtp_receiver()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


@pytest.fixture
def alerts_inline(settings):
    """Events processed and notifications sent as soon as their transaction commits."""
    settings.ALERTS = {**settings.ALERTS, "DELIVERY": "inline", "HTTP_TIMEOUT_S": 5.0}
