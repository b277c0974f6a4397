"""A small Django site behind consent_mw.django (see the README's Django section)."""
