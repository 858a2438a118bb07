def test_health_on_both_databases(make_config, make_client):
    client = make_client(make_config())
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
