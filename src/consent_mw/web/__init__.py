"""The visitor's side of the web: the consent API and the pages that work without
JavaScript, as plain request -> response functions the adapters carry."""
