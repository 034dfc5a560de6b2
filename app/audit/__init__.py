"""Change events, the hash chain over them, and its verification."""
