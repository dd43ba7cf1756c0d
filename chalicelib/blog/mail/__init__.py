"""Blog mail: the event handlers' services that send welcome and post mails (sender), their
text (content), the once-only ledger (deliveries) and the post announcement fan-out (fanout).

No routes. May import `chalicelib.core`, `.store`, and the blog's posts and subscribers.
"""
