"""The schema and the docs: OpenAPI 3.1, every operation's errors, Swagger UI under the CSP."""

import re

import pytest
import yaml


@pytest.mark.django_db
def test_the_schema_is_openapi_3_1_with_the_bearer_scheme_and_error_bodies(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.1")
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) == 17
    for op in operations:
        assert {"401", "403", "404", "406", "429"} <= set(op["responses"]), op["operationId"]
        error = op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
        assert error.endswith("/Error")
    assert "idempotency_conflict" in str(schema["components"]["schemas"]["CodeEnum"])


@pytest.mark.django_db
def test_swagger_ui_is_served_locally_and_keeps_the_csp(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert len(scripts) == 3
    for attrs in scripts:
        assert f'nonce="{nonce}"' in attrs and 'src="' in attrs
        src = re.search(r'src="([^"]+)"', attrs).group(1)
        assert src.startswith("/"), src  # no CDN
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<style[^>]*>", html))
    script = client.get(
        re.search(r'src="(/api/docs/\?[^"]+)"', html).group(1).replace("&amp;", "&")
    )
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
