def authenticate(request):
    token = request.get("authToken")
    if token is None:
        return None
    if token != "good-token":
        raise PermissionError("bad token")
    return {"user": "alice"}
