"""Request and response bodies, per entity (XCreate / XRead), separate from the domain classes: one module per
area, as the routers are."""
