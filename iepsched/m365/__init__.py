"""The Microsoft 365 adapter: auth, the Graph HTTP client, batching, and the Remote."""
