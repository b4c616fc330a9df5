"""The API's one error shape, checked the same way by every test that expects a refusal."""


def error_of(resp):
    """The `error` object of the one error shape, asserting the shape on the way."""
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def refused(resp, status, code):
    """`error_of`, also asserting the status and the error code."""
    err = error_of(resp)
    assert (resp.status_code, err["code"]) == (status, code), err
    return err
