"""The platform's web pages: server-rendered shells whose small scripts call the same RPCs with the user's JWT."""
