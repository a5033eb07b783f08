from flows.ui import server_command, server_env


def test_the_ui_is_told_where_the_api_is_so_another_port_works():
    env = server_env("127.0.0.1", 4321, {"PREFECT_HOME": "/data/prefect"})
    assert env["PREFECT_SERVER_API_HOST"] == "127.0.0.1"
    assert env["PREFECT_SERVER_API_PORT"] == "4321"
    assert env["PREFECT_UI_API_URL"] == "http://127.0.0.1:4321/api"
    assert env["PREFECT_HOME"] == "/data/prefect"
    assert server_command("127.0.0.1", 4321)[-6:] == [
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        "4321",
    ]
