"""HTTP plumbing for every domain's routes: the ID-token checks of the WebSocket connect (tokens,
PyJWT: import it only where a token is checked), and the Cognito authorizer, the request and
response helpers with the one table that maps domain errors to statuses and the client-version
check in front of every route (http).

May import chalice, `chalicelib.core` and `chalicelib.store`; never a domain. Routes themselves
live in their domain's package.
"""
