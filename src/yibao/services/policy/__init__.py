"""Policy sets in force, decisions acted on, and the 12333 answer."""
