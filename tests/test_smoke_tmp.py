import json
from chalice.test import Client
from tests.conftest import headers_for

def test_smoke(client: Client) -> None:
    h = headers_for("alice")
    r = client.http.post("/todos", headers=h, body=json.dumps({"title": " Buy milk ", "tags": ["a"]}))
    print(r.status_code, r.headers, r.body)
    assert r.status_code == 201
    tid = r.json_body["id"]
    r = client.http.get("/todos", headers=h)
    print(r.status_code, r.body)
    r = client.http.get(f"/todos/{tid}", headers=h)
    print(r.status_code, r.headers, r.body)
    r = client.http.patch(f"/todos/{tid}", headers={**h, "If-Match": '"1"'}, body=json.dumps({"done": True}))
    print(r.status_code, r.headers, r.body)
    r = client.http.get("/todos?done=true", headers=h)
    print(r.status_code, r.body)
    r = client.http.delete(f"/todos/{tid}", headers=h)
    print(r.status_code, r.body)
    r = client.http.get("/todos?updated_since=2020-01-01T00:00:00Z", headers=h)
    print(r.status_code, r.body)
    r = client.http.get("/todos", headers={"Authorization": "x"})
    print(r.status_code, r.body)
    r = client.http.post("/todos", headers={**h, "Idempotency-Key": "k1"}, body=json.dumps({"title": "x"}))
    print(r.status_code, r.body)
    r = client.http.post("/todos", headers={**h, "Idempotency-Key": "k1"}, body=json.dumps({"title": "x"}))
    print(r.status_code, r.body)
    r = client.http.post("/todos", headers={**h, "Idempotency-Key": "k1"}, body=json.dumps({"title": "y"}))
    print(r.status_code, r.body)
