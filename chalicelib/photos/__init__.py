"""Photos: the /photos routes (routes), uploads and listings (service), the thumbnail worker
(thumbnails) and the Pillow side of it (images, imported only by the worker), the accessors
(deps).

May import `chalicelib.core`, `chalicelib.store` and `chalicelib.web`; never todos, the blog or
realtime. Routes live here with their services: a change to photos touches this folder only.
"""
