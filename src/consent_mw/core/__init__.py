"""One request's consent, framework-free: request facts, the consent cookie, the decision,
the engine that applies it to headers, device facts and the recorder."""
