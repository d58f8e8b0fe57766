"""Regional rules as dated data: what the engine decides, and the interfaces services ask it through."""
