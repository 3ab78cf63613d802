"""Print: per-site card printing by self-registering print agents, load balanced per site;
accountable blank-card stock and serials; hand-over."""
