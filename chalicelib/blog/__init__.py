"""The blog: posts (routes, service, fields, markup, feed), subscribers (routes, service,
addresses) and mail (sender, content, deliveries, fanout), with the accessors of all three
(deps).

May import `chalicelib.core`, `chalicelib.store` and `chalicelib.web`; never todos, photos or
realtime. Inside the blog, mail may use posts and subscribers, never the other way round. Routes
live with their sub-package: a change to one feature of the blog touches one folder.
"""
