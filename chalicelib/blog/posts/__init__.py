"""Blog posts: the /posts routes (routes), the service and its cache (service), field checks
(fields), Markdown rendering (markup) and the Atom feed (feed).

May import `chalicelib.core`, `.store`, `.web` and `chalicelib.blog` (its accessors); never mail or
subscribers (they build on posts).
"""
