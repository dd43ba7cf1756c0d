// The site's settings. Copy to config.js next to index.html and set the API's base URL:
// `make run` serves a generated config.js pointing at the local API, and a deploy writes one.
window.MYTODOLIST_CONFIG = { apiUrl: "https://abc123.execute-api.us-east-1.amazonaws.com/api" };
