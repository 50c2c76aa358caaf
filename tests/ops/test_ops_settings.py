"""Operations settings read from the environment: safe defaults, loud failures."""

from tests.test_settings import manage

SHOW_NETWORKS = "from django.conf import settings; print(settings.OPS['METRICS_ALLOWED_NETWORKS'])"


def test_metrics_open_to_loopback_by_default_but_not_behind_a_proxy(tmp_path):
    db = {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    direct = manage(db, "shell", "--no-imports", "-c", SHOW_NETWORKS)
    assert direct.stdout.strip() == "['127.0.0.1/32', '::1/128']", direct.stderr
    # A proxy on the same machine makes every visitor look like loopback.
    proxied = manage(
        {**db, "BEHIND_TLS_PROXY": "true"}, "shell", "--no-imports", "-c", SHOW_NETWORKS
    )
    assert proxied.stdout.strip() == "[]", proxied.stderr


def test_bad_values_stop_the_process_with_the_variable_named(tmp_path):
    db = {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    for env, message in [
        ({"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,intranet"}, "METRICS_ALLOWED_NETWORKS"),
        ({"LOG_FORMAT": "yaml"}, "LOG_FORMAT='yaml'"),
        ({"HEARTBEAT_EVERY_S": "often"}, "HEARTBEAT_EVERY_S='often' is not a number"),
    ]:
        result = manage({**db, **env}, "check")
        assert result.returncode != 0, env
        assert message in result.stderr, result.stderr
