from litestar.testing import TestClient

from advocacy.app import create_app


def test_health_and_ready() -> None:
    with TestClient(create_app()) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == "ok"
        assert client.get("/health").headers["x-request-id"]
