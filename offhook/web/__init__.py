"""The web: pages (one module per menu entry), the JSON API, templates and static files.

`offhook.web.app.create_app` builds the ASGI app over one running `Offhook`.
"""
