"""The HTML path: the streaming rewriter, its scanner and optional C steps, the injected
Consent Mode default and banner, and the body plan the adapters follow."""
