"""Blog subscribers: the /subscriptions routes (routes), double opt-in and unsubscribe
(service) and address normalisation (addresses).

May import `chalicelib.core`, `.store`, `.web` and `chalicelib.blog` (its accessors); never
mail (it builds on subscribers) or posts.
"""
