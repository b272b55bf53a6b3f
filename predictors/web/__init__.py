"""The Voilà side of serving: two doors (`appserver`), its request handlers, pages and static files, and the
kernel manager with its cap (`kernels`)."""
